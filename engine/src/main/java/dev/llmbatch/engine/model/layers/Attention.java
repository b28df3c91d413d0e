package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.llmbatch.engine.runtime.CpuKernels;
import dev.llmbatch.engine.runtime.PackedGemm;
import java.util.List;

/**
 * Multi-head self-attention with grouped KV heads over the slot KV cache: fused q/k/v projection
 * (optional bias), optional per-head q/k RMSNorm (Qwen3), rotary, a write of the new K/V rows into
 * the cache, a gather of each row's cached prefix, scaled scores with optional soft-capping
 * (Gemma2), an additive causal (+ sliding window) mask, softmax and the output projection.
 *
 * <p>GQA without copying K/V per query head: queries are laid out (B, Hkv, G·T, D), so one batched
 * matmul against (B, Hkv, L, D) serves all G query heads of a KV head (query head h uses KV head
 * h / G, as HF's repeat_kv).
 */
public final class Attention {
  private final Linear qkv; // ((H + 2·Hkv)·D, hidden)
  private final Linear o; // (hidden, H·D)
  private final Norm qNorm; // over D, or null
  private final Norm kNorm;
  private final RotaryEmbedding rotary; // or null (learned positions)
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final int window; // 0 = full attention
  private final float scale;
  private final float softcap; // 0 = none
  private final long[] splitQKV; // head-axis split points of q | k | v
  private final long[] splitQkV; // q+k | v
  private final long[] splitQK; // q | k
  private final CpuKernels.Heads fused;

  public Attention(Linear qkv, Linear o, Norm qNorm, Norm kNorm, RotaryEmbedding rotary,
      int heads, int kvHeads, int headDim, int window, float scale, float softcap) {
    this.qkv = qkv;
    this.o = o;
    this.qNorm = qNorm;
    this.kNorm = kNorm;
    this.rotary = rotary;
    this.heads = heads;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.window = window;
    this.scale = scale;
    this.softcap = softcap;
    this.splitQKV = new long[] {heads, heads + kvHeads};
    this.splitQkV = new long[] {heads + kvHeads};
    this.splitQK = new long[] {heads};
    this.fused = new CpuKernels.Heads(heads, kvHeads, headDim, window, scale, softcap);
  }

  /**
   * x (B, T, hidden) → (B, T, hidden); writes this step's K/V into {@code keyCache}/{@code
   * valueCache} (rows × D) first, then reads each row's prefix back through {@code keySlots}/{@code
   * valueSlots}, the caches' (S, Hkv, C, D) views over their first S·Hkv·C rows (the KV cache keeps
   * them, so a step makes none). A {@code residual} (B, T, hidden), when not null, is added to the
   * output by the output projection itself.
   */
  public NDArray forward(NDArray x, StepBatch s, NDArray keyCache, NDArray valueCache,
      NDArray keySlots, NDArray valueSlots, NDArray residual) {
    NDArray q = queries(project(x, s.b, s.t, s.cos, s.sinSigned, s.writeRows, keyCache,
        valueCache));
    return output(core(q, s, keySlots, valueSlots), residual); // (B, T, hidden)
  }

  /**
   * A packed step: x (1, N, hidden) holds the step's N new tokens with no padding, group after
   * group ({@link PackedStep}); projections, rotary and the K/V writes run once over all N
   * tokens (one pass over the weights), the attention core once per group — or, on the CPU in
   * float32, once for all tokens, reading the cache in place ({@link CpuKernels}). → (1, N,
   * hidden), plus {@code residual} (1, N, hidden) when not null.
   */
  public NDArray forward(NDArray x, PackedStep p, NDArray keyCache, NDArray valueCache,
      NDArray keySlots, NDArray valueSlots, NDArray residual) {
    if (p.fused) {
      int capacity = Math.toIntExact(keySlots.getShape().get(2));
      NDArray out;
      if (qNorm == null) { // rotary, the cache writes and attention in one native call
        out = CpuKernels.project(qkv.apply(x), p.cos, p.sinSigned, keyCache, valueCache,
            capacity, fused, p.sequences);
      } else {
        NDArray projected = project(x, 1, p.tokens, p.cos, p.sinSigned, p.writeRows(), keyCache,
            valueCache);
        out = CpuKernels.causal(projected, projected.getShape().size() / p.tokens, keyCache,
            valueCache, capacity, fused, p.sequences);
      }
      return output(out.reshape(1, p.tokens, (long) heads * headDim), residual);
    }
    NDArray projected = project(x, 1, p.tokens, p.cos, p.sinSigned, p.writeRows(), keyCache,
        valueCache);
    NDArray q = queries(projected);
    List<StepBatch> groups = p.groups;
    NDList outs = new NDList(groups.size());
    for (int i = 0; i < groups.size(); i++) {
      StepBatch s = groups.get(i);
      long n = (long) s.b * s.t; // a group is never padded: one token per row, or one row
      NDArray qg = groups.size() == 1 ? q
          : q.get(new NDIndex(":, {}:{}", p.offsets[i], p.offsets[i] + n));
      outs.add(core(qg.reshape(s.b, s.t, heads, headDim), s, keySlots, valueSlots)
          .reshape(1, n, (long) heads * headDim));
    }
    NDArray out = outs.size() == 1 ? outs.head() : NDArrays.concat(outs, 1); // (1, N, H·D)
    return output(out, residual);
  }

  /** What the native layer stack takes of an attention: its packed projections, heads, norms. */
  record StackParts(PackedGemm qkv, PackedGemm o, CpuKernels.Heads heads, RmsNorm qNorm,
      RmsNorm kNorm) {}

  /**
   * This attention as the native layer stack runs it, its projections packed whatever their size
   * ({@link Linear#packedForStack}); null where the q/k norms (Qwen3's, applied per head by the
   * stack) are not RMSNorms of one eps, or a projection does not pack here.
   */
  StackParts stackParts() {
    boolean norms = qNorm != null || kNorm != null;
    if (norms && !(qNorm instanceof RmsNorm q && kNorm instanceof RmsNorm k
        && q.eps() == k.eps())) {
      return null;
    }
    PackedGemm a = qkv.packedForStack();
    PackedGemm b = o.packedForStack();
    if (a == null || b == null) {
      return null;
    }
    return new StackParts(a, b, fused, norms ? (RmsNorm) qNorm : null,
        norms ? (RmsNorm) kNorm : null);
  }

  /** The output projection of the heads' outputs, plus {@code residual} when not null. */
  private NDArray output(NDArray heads, NDArray residual) {
    return residual == null ? o.apply(heads) : o.applyWithResidual(heads, residual);
  }

  /**
   * q/k/v projections of x (B, T, hidden), q/k norms and rotary, and the write of the new K/V to
   * {@code writeRows} of the caches; returns (B, T, H', D) whose first H heads are q (H' ≥ H: the
   * array q was split from, when it was, so that fused attention reads it in place).
   */
  private NDArray project(NDArray x, long b, long t, NDArray cos, NDArray sinSigned,
      NDArray writeRows, NDArray keyCache, NDArray valueCache) {
    int d = headDim;
    // q, k, v projections: (B, T, (H + 2·Hkv)·D) → heads (B, T, H + 2·Hkv, D)
    NDArray qkvHeads = qkv.apply(x).reshape(b, t, heads + 2L * kvHeads, d);
    NDArray q;
    NDArray k;
    NDArray v;
    if (qNorm == null && rotary != null) {
      // q and k rotate together: one rotary op sequence instead of two per layer
      NDList parts = qkvHeads.split(splitQkV, 2); // (B, T, H + Hkv, D), (B, T, Hkv, D)
      NDArray rotated = rotary.apply(parts.get(0), cos, sinSigned);
      NDList qk = rotated.split(splitQK, 2);
      q = rotated; // q is heads 0..H−1 of (B, T, H + Hkv, D)
      k = qk.get(1); // (B, T, Hkv, D)
      v = parts.get(1);
    } else {
      NDList parts = qkvHeads.split(splitQKV, 2); // (B, T, H, D), (B, T, Hkv, D) × 2
      q = qkvHeads; // heads 0..H−1, until normed or rotated
      k = parts.get(1);
      v = parts.get(2);
      if (qNorm != null) {
        q = qNorm.apply(parts.get(0)); // Qwen3: per-head RMSNorm over D before rotary
        k = kNorm.apply(k);
      }
      if (rotary != null) { // here q was normed
        q = rotary.apply(q, cos, sinSigned);
        k = rotary.apply(k, cos, sinSigned);
      }
    }
    // append the new K/V to each row's slot (padding goes to the trash row)
    NDIndex write = new NDIndex("{}", writeRows);
    keyCache.set(write, k.reshape(-1, d)); // (B·T·Hkv, D)
    valueCache.set(write, v.reshape(-1, d));
    return q;
  }

  /** q (B, T, H, D) from what {@link #project} returned. */
  private NDArray queries(NDArray projected) {
    return projected.getShape().get(2) == heads ? projected
        : projected.get(new NDIndex(":, :, :{}", heads));
  }

  /** The attention of q (B, T, H, D) over each row's cached keys 0..L−1 → (B, T, H·D). */
  private NDArray core(NDArray q, StepBatch s, NDArray keySlots, NDArray valueSlots) {
    int b = s.b;
    int t = s.t;
    int l = s.l;
    int g = heads / kvHeads;
    int d = headDim;
    // each row's keys/values 0..L−1 (B, Hkv, L, D): a view when the rows hold consecutive slots
    NDArray keys = keySlots.get(s.manager, s.kvRead);
    NDArray values = valueSlots.get(s.manager, s.kvRead);
    // queries grouped under their KV head: (B, T, Hkv, G, D) → (B, Hkv, G·T, D); with one new
    // token per row that is a plain reshape (query head h = kv·G + g), no transposed copy
    NDArray qg = t == 1
        ? scaled(q).reshape(b, kvHeads, g, d)
        : scaled(q).reshape(b, t, kvHeads, g, d).transpose(0, 2, 3, 1, 4)
            .reshape(b, kvHeads, (long) g * t, d);
    NDArray scores = qg.matMul(keys.transpose(0, 1, 3, 2)); // (B, Hkv, G·T, L)
    if (softcap > 0) {
      scores = scores.divi(softcap).tanh().muli(softcap);
    }
    NDArray mask = s.mask(window); // (B, 1, 1, T, L), or null when it would hide nothing
    if (mask != null) {
      scores = scores.reshape(b, kvHeads, g, t, l).addi(mask);
    }
    NDArray probs = softmax(scores).reshape(b, kvHeads, (long) g * t, l);
    NDArray out = probs.matMul(values); // (B, Hkv, G·T, D)
    // back to (B, T, H·D): (B, Hkv, G, T, D) → (B, T, Hkv, G, D)
    return t == 1
        ? out.reshape(b, 1, (long) heads * d)
        : out.reshape(b, kvHeads, g, t, d).transpose(0, 3, 1, 2, 4).reshape(b, t, (long) heads * d);
  }

  /** q·scale, unless the scale was folded into the q projection or q_norm at load (scale 1). */
  private NDArray scaled(NDArray q) {
    return scale == 1f ? q : q.muli(scale);
  }

  /** Softmax over keys, in float32 whatever the compute dtype (as HF's eager attention). */
  private static NDArray softmax(NDArray scores) {
    if (scores.getDataType() == DataType.FLOAT32) {
      return scores.softmax(-1);
    }
    return scores.toType(DataType.FLOAT32, false).softmax(-1).toType(scores.getDataType(), false);
  }
}
