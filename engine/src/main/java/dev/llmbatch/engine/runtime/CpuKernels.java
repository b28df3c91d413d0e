package dev.llmbatch.engine.runtime;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fused float32 kernels for the CPU: attention over ragged sequences reading keys and values in
 * place, RMSNorm, and the SiLU-gated product of a gate|up projection.
 *
 * <p>Why: libtorch's eager attention, as DJL exposes it, is a dozen ops per layer — copies of q, k
 * and v into batched-matmul layout, a padded score tensor, an additive mask, softmax, and a copy
 * back — each a JNI call, a dispatch and a fresh tensor, and the batched matmuls re-pack their
 * small operands. Profiles here put it at ~18% of an encoder's time and a large part of a decode
 * step beyond its weights (docs/benchmarks.md). DJL 0.36 offers no fused attention op. An RMSNorm
 * is six such ops and a SiLU gate four: at one decode row those per-op costs, not arithmetic, are
 * what a step spends beyond reading its weights. An encoder's residual add and LayerNorm, and its
 * GELU, are passes over thousands of rows that one native pass a row does faster. Each is one
 * call here: {@code cpu-kernels.c} (a
 * resource of this package, built on first use by {@link NativeLibraries} for this CPU); attention
 * scores each sequence's queries against its keys, masks, soft-maxes and sums the values in
 * cache-sized scratch, sharing the work over libtorch's own OpenMP threads.
 *
 * <p>It serves CPU float32 arrays only; callers keep libtorch's path for everything else (GPU,
 * FP16/BF16, MPNet's position bias, other activations) and when {@link #available()} is false,
 * which it says once in the log. {@code LLM_BATCH_CPU_KERNELS=0} (or {@code
 * -Dllmbatch.cpuKernels=false}) turns it off. Tests hold each kernel to its definition computed in
 * Java.
 */
public final class CpuKernels {
  private static final Logger LOG = LoggerFactory.getLogger(CpuKernels.class);
  private static final String SOURCE = "cpu-kernels.c";
  private static final List<String> FLAGS = List.of("-O3", "-march=native", "-fno-math-errno",
      "-Wno-psabi");
  // LLM_BATCH_CPU_ISA=avx2 (or -Dllmbatch.cpuIsa=avx2): built without AVX-512 on a CPU that has
  // it, as for one that has AVX2 only (the build's tests run so once more, and a benchmark can
  // set the two side by side)
  private static final String ISA_ENV = "LLM_BATCH_CPU_ISA";
  private static final String ISA_PROPERTY = "llmbatch.cpuIsa";
  // libtorch's intra-op thread count (TorchRuntime.threads: as configured, at most the CPUs); set
  // by load(), published by PATH's first answer
  private static int threads;
  private static final NativePath PATH = new NativePath(CpuKernels::load, LOG,
      () -> "CPU float32 attention, RMSNorm, LayerNorm (with its residual sum), SiLU gating and"
          + " GELU run as fused native kernels, one call each, and the sampler's passes over the"
          + " vocabulary as vector loops (LLM_BATCH_CPU_KERNELS=0 turns this off)",
      "CPU attention, norms, SiLU gating and GELU run as libtorch ops, the sampler in Java");

  private CpuKernels() {}

  /** Whether the kernels are built and loaded in this JVM; the first call logs the outcome. */
  public static boolean available() {
    return PATH.available();
  }

  /** Why {@link #available()} is false: null once it is true, "not checked yet" before it runs. */
  public static String unavailableReason() {
    return PATH.unavailableReason();
  }

  /**
   * Greedy decoding's argmax: the index of the largest of {@code row}, the lowest on ties (−0 and
   * +0 tie), as a scalar loop finds it; −1 − i where {@code row[i]} is the row's first NaN; {@link
   * Integer#MIN_VALUE} where the kernels are not loaded (the caller takes its own loop). 16 logits
   * a comparison, where the JIT's scalar loop took ~1 ns a logit.
   */
  public static int argmax(float[] row) {
    if (!available()) {
      return Integer.MIN_VALUE;
    }
    int r = argmaxRow(row);
    return r < -row.length ? Integer.MIN_VALUE : r; // (the array could not be pinned)
  }

  /**
   * A temperature draw's Gumbel-max candidates: the indices (ascending, into {@code out}) of the
   * tokens of {@code row} that may win {@code argmax row[i]·invT + g_i}, where g_i = −log(−log u)
   * with u = (bits + 0.5)·2^−53, bits = {@code mix(key + 0x9E3779B97F4A7C15·(i + 1)) >>> 11}, and
   * {@code best} is a score some token reaches exactly. Against a threshold that some token's exact
   * score reaches (from {@code best}, raised by the approximate scores found), a token is ruled
   * out when {@code row[i]·invT + maxGumbel} stays under it, or when it lies a gap above the token
   * and its bits are at most {@code table[(int) (gap · bins)]} (the caller's table of bits whose
   * noise stays under that gap). Left: the tokens whose libm-scored approximation lies within
   * 1e-9 (relative) of the best, which hold the winner and every token tied with it, for the
   * caller to score exactly. Returns their count; −1 where more than {@code out} holds passed the
   * tests; {@link Integer#MIN_VALUE} where the kernels are not loaded or the arrays could not be
   * pinned (the caller takes its own loop). The row holds no NaN.
   */
  public static int gumbelCandidates(float[] row, double invT, long key, double best,
      long[] table, double bins, double maxGumbel, int[] out) {
    if (!available()) {
      return Integer.MIN_VALUE;
    }
    int r = gumbelCandidatesRow(row, invT, key, best, table, bins, maxGumbel, out);
    return r < -1 ? Integer.MIN_VALUE : r;
  }

  /**
   * top_k's keys: the {@code out.length} (1 ≤ k ≤ row length) best tokens of {@code row} as the
   * sampler keys them ({@code ~sortable(logit bits) << 32 | id}, −0 as +0: ascending is logit
   * descending, then id ascending), ascending, into {@code out}. Returns k; −1 − i where {@code
   * row[i]} is the row's first NaN; {@link Integer#MIN_VALUE} where the kernels are not loaded or
   * the arrays could not be pinned (the caller takes its own loop).
   */
  public static int topKeys(float[] row, long[] out) {
    if (!available() || out.length < 1 || out.length > row.length) {
      return Integer.MIN_VALUE;
    }
    int r = topKeysRow(row, out);
    return r < -row.length ? Integer.MIN_VALUE : r;
  }

  /**
   * top_p's bins: for each token of {@code row}, {@code d = (row[i] − max)·invT} and its bin
   * {@code d > floor ? (int) (d·scale) : last} into {@code bins} (as long as the row), the
   * sampler's expression bit for bit; each bin's count into {@code count} ({@code last + 1}
   * long, at most 128) and each bin's softmax mass, {@code Σ e^d} over its tokens, into {@code
   * mass} (as long; the last bin's 0): each term to ~2 ulp, summed in no particular order. False
   * where the kernels are not loaded or the arrays could not be pinned (the caller takes its own
   * loop).
   */
  public static boolean nucleusBins(float[] row, double max, double invT, double floor,
      double scale, byte[] bins, int[] count, double[] mass) {
    return available() && nucleusBinsRow(row, max, invT, floor, scale, bins, count, mass) == 0;
  }

  /**
   * top_p's candidates: the keys ({@link #topKeys}'s) of the tokens of {@code row} whose bin is at
   * most {@code upto}, in index order, into {@code out} (as many as it holds); the count written,
   * or a negative number where the kernels are not loaded or the arrays could not be pinned. 64
   * bins a comparison.
   */
  public static int nucleusKeys(float[] row, byte[] bins, int upto, long[] out) {
    return available() ? nucleusKeysRow(row, bins, upto, out) : -1;
  }

  /** Whether {@code a} is something these kernels take: float32 on the CPU, and they are loaded. */
  public static boolean serves(NDArray a) {
    return a.getDataType() == DataType.FLOAT32
        && a.getDevice().getDeviceType().equals(Device.Type.CPU) && available();
  }

  /**
   * The attention heads of a decoder layer: H query heads and Hkv KV heads of D; {@code window}
   * > 0 limits a token at p to keys after p − window; {@code softcap} > 0 caps scores as Gemma 2;
   * {@code scale} multiplies q·k (1 when folded into the weights).
   */
  public record Heads(int heads, int kvHeads, int headDim, int window, float scale,
      float softcap) {}

  /**
   * The sequences of a decoder step, each {@code count[i]} new tokens at packed rows
   * {@code first[i] ..} and positions {@code start[i] ..}, its KV head h's key j at cache row
   * {@code kvRow[i] + h·capacity + j}. A sequence of count 0 is skipped; rows that belong to no
   * sequence come out as zeros.
   */
  public record Sequences(int[] first, int[] count, int[] start, long[] kvRow) {
    /** New tokens over all sequences. */
    public long tokens() {
      long n = 0;
      for (int c : count) {
        n += c;
      }
      return n;
    }
  }

  /**
   * Bidirectional attention of an encoder: {@code qkv} (N, 3·H·D) holds each token's query (already
   * scaled), key and value, H heads of D each; sequence i is tokens {@code starts[i] ..
   * starts[i] + lengths[i]} and attends to itself only. → (N, H·D) in {@code qkv}'s manager.
   */
  public static NDArray bidirectional(NDArray qkv, int heads, int headDim, int[] starts,
      int[] lengths) {
    long width = (long) heads * headDim;
    check(qkv, 3 * width, "qkv");
    NDArray out = qkv.getManager().create(new Shape(qkv.getShape().size() / (3 * width), width),
        DataType.FLOAT32);
    long[] base = new long[starts.length];
    for (int i = 0; i < starts.length; i++) {
      base[i] = starts[i] * 3 * width; // the sequence's first token
    }
    ByteBuffer b = buffer(qkv);
    int rc = attend(b, 3 * width, false, null, null, 0, b, width, b, 2 * width, 3 * width,
        headDim, buffer(out), width, heads, heads, headDim, starts, lengths,
        new int[starts.length], base, false, 0, 1f, 0f, threads());
    return result(rc, out);
  }

  /**
   * Causal attention of a decoder step whose new keys and values are already in the cache:
   * {@code q} holds rows of {@code qStride} floats (one per packed token) whose first H·D are the
   * query heads, rotated. Keys/values are rows of D floats in {@code keyCache}/{@code
   * valueCache}. → (rows, H·D) in {@code q}'s manager.
   */
  public static NDArray causal(NDArray q, long qStride, NDArray keyCache, NDArray valueCache,
      int capacity, Heads h, Sequences s) {
    return decoder(q, qStride, false, null, null, keyCache, valueCache, capacity, h, s);
  }

  /**
   * The whole attention of a decoder step from its q|k|v projection {@code qkv} (rows of
   * (H + 2·Hkv)·D, one per packed token): rotates queries and new keys by {@code cos}/{@code
   * sinSigned} (rows of R, sin with its first half negated, as {@code RotaryEmbedding}; both null
   * without rotary), writes each new key and value to its position of the cache, then attends as
   * {@link #causal}.
   */
  public static NDArray project(NDArray qkv, NDArray cos, NDArray sinSigned, NDArray keyCache,
      NDArray valueCache, int capacity, Heads h, Sequences s) {
    long stride = (long) (h.heads() + 2 * h.kvHeads()) * h.headDim();
    return decoder(qkv, stride, true, cos, sinSigned, keyCache, valueCache, capacity, h, s);
  }

  private static NDArray decoder(NDArray q, long qStride, boolean fresh, NDArray cos,
      NDArray sin, NDArray keyCache, NDArray valueCache, int capacity, Heads h, Sequences s) {
    int d = h.headDim();
    long width = (long) h.heads() * d;
    check(q, qStride, "q");
    if (width > qStride) {
      throw new IllegalArgumentException("fused attention: " + h.heads() + " query heads of " + d
          + " do not fit q rows of " + qStride);
    }
    long rows = q.getShape().size() / qStride;
    int rot = 0;
    if (cos != null) {
      rot = Math.toIntExact(cos.getShape().get(cos.getShape().dimension() - 1));
      check(cos, rot, "cos");
      check(sin, rot, "sin");
      if (cos.getShape().size() != rows * rot || rot > d || rot % 2 != 0) {
        throw new IllegalArgumentException("fused attention: cos/sin " + cos.getShape()
            + " do not give " + rows + " rows of an even rotary size ≤ " + d);
      }
    }
    Shape shape = new Shape(rows, width);
    // rows no sequence writes (a caller's placeholders) must read as zeros
    NDArray out = s.tokens() < rows ? q.getManager().zeros(shape, DataType.FLOAT32)
        : q.getManager().create(shape, DataType.FLOAT32);
    long[] base = new long[s.kvRow().length];
    for (int i = 0; i < base.length; i++) {
      base[i] = s.kvRow()[i] * d;
    }
    int rc = attend(buffer(q), qStride, fresh, cos == null ? null : buffer(cos),
        sin == null ? null : buffer(sin), rot, buffer(keyCache), 0, buffer(valueCache), 0, d,
        (long) capacity * d, buffer(out), width, h.heads(), h.kvHeads(), d, s.first(), s.count(),
        s.start(), base, true, h.window(), h.scale(), h.softcap(), threads());
    return result(rc, out);
  }

  /**
   * RMSNorm over the last axis: {@code x · (mean(x²) + eps)^−½ · weight} ({@code weight} (N) or
   * null). → x's shape, in x's manager.
   */
  public static NDArray rmsNorm(NDArray x, NDArray weight, float eps) {
    Shape s = x.getShape();
    long n = s.get(s.dimension() - 1);
    check(x, n, "x");
    if (weight != null && (weight.size() != n || weight.getDataType() != DataType.FLOAT32)) {
      throw new IllegalArgumentException("RMSNorm over " + n + " takes a float32 weight (" + n
          + "), not " + weight.getDataType() + " " + weight.getShape());
    }
    NDArray out = x.getManager().create(s, DataType.FLOAT32);
    rmsNorm(buffer(x), weight == null ? null : buffer(weight), buffer(out),
        Math.toIntExact(s.size() / n), Math.toIntExact(n), eps, threads());
    return out;
  }

  /**
   * LayerNorm over the last axis of {@code x + y}: {@code (s − mean) · (var + eps)^−½ · weight +
   * bias} with s the sum ({@code y} of x's shape, or null for x alone; weight and bias (N)), in one
   * pass a row instead of libtorch's add and layer_norm. → x's shape, in x's manager.
   */
  public static NDArray addLayerNorm(NDArray x, NDArray y, NDArray weight, NDArray bias,
      float eps) {
    Shape s = x.getShape();
    long n = s.get(s.dimension() - 1);
    check(x, n, "x");
    if (y != null && (!y.getShape().equals(s) || y.getDataType() != DataType.FLOAT32)) {
      throw new IllegalArgumentException("LayerNorm of a sum takes float32 addends of one shape,"
          + " not " + s + " and " + y.getDataType() + " " + y.getShape());
    }
    for (NDArray p : new NDArray[] {weight, bias}) {
      if (p.size() != n || p.getDataType() != DataType.FLOAT32) {
        throw new IllegalArgumentException("LayerNorm over " + n + " takes a float32 weight and"
            + " bias (" + n + "), not " + p.getDataType() + " " + p.getShape());
      }
    }
    NDArray out = x.getManager().create(s, DataType.FLOAT32);
    addLayerNorm(buffer(x), y == null ? null : buffer(y), buffer(weight), buffer(bias),
        buffer(out), Math.toIntExact(s.size() / n), Math.toIntExact(n), eps, threads());
    return out;
  }

  /**
   * GELU, erf form (HF's {@code "gelu"}), applied to {@code x} in place (float32, contiguous: a
   * fresh output of the caller's own); returns x. Erf within 1.5e-7, the approximation libtorch's
   * vectorised CPU kernel uses.
   */
  public static NDArray geluInPlace(NDArray x) {
    return inPlace(x, 0, 0);
  }

  /**
   * The tanh GELU (HF's {@code gelu_new}, {@code gelu_pytorch_tanh}: GPT-2's MLP) applied to
   * {@code x} in place (float32, contiguous: a fresh output of the caller's own); returns x.
   * Computed as {@link #geluTanhMul}'s gate is, within a few float32 ulps of libtorch's ops.
   */
  public static NDArray geluTanhInPlace(NDArray x) {
    return inPlace(x, 1, 0);
  }

  /**
   * {@code cap · tanh(x / cap)} in place (Gemma 2's final logit soft-capping; x float32,
   * contiguous, the caller's own); returns x. One pass instead of libtorch's three, its tanh
   * within ~2 ulp.
   */
  public static NDArray softcapInPlace(NDArray x, float cap) {
    return inPlace(x, 2, cap);
  }

  /** x in place, row by row: kind 0 the erf GELU, 1 the tanh GELU, 2 param · tanh(x / param). */
  private static NDArray inPlace(NDArray x, int kind, float param) {
    Shape s = x.getShape();
    long n = s.get(s.dimension() - 1);
    check(x, n, "x");
    inPlace(buffer(x), kind, Math.toIntExact(s.size() / n), Math.toIntExact(n), param, threads());
    return x;
  }

  /**
   * The SiLU-gated product of a fused gate|up projection: {@code gu} (…, 2I) → silu(gate) · up
   * (…, I), in gu's manager.
   */
  public static NDArray siluMul(NDArray gu) {
    return gatedMul(gu, false);
  }

  /**
   * The GeGLU product of a fused gate|up projection (Gemma's MLP): {@code gu} (…, 2I) →
   * gelu_tanh(gate) · up (…, I), in gu's manager; gelu_tanh is HF's {@code gelu_pytorch_tanh},
   * ½x(1 + tanh(√(2/π)(x + 0.044715x³))), computed as x·σ(2√(2/π)(x + 0.044715x³)) (the same
   * function), within a few float32 ulps of libtorch's ops.
   */
  public static NDArray geluTanhMul(NDArray gu) {
    return gatedMul(gu, true);
  }

  /** gu (…, 2I) → act(gate) · up (…, I): SiLU, or with {@code geluTanh} the tanh GELU. */
  private static NDArray gatedMul(NDArray gu, boolean geluTanh) {
    Shape s = gu.getShape();
    long twice = s.get(s.dimension() - 1);
    check(gu, 2, "gate|up");
    long[] dims = s.getShape().clone(); // Shape hands out its own array
    dims[dims.length - 1] = twice / 2;
    NDArray out = gu.getManager().create(new Shape(dims), DataType.FLOAT32);
    gatedMul(buffer(gu), buffer(out), geluTanh, Math.toIntExact(s.size() / twice),
        Math.toIntExact(twice / 2), threads());
    return out;
  }

  /**
   * One pre-norm block of a Llama-shaped decoder as {@link Stack} runs it: RMSNorm ({@code
   * inputNorm} (hidden) or null where folded into the weights), the fused q|k|v projection, rotary,
   * the cache writes and attention of {@code heads}, the output projection onto the residual,
   * RMSNorm, the fused gate|up projection, SiLU(gate)·up (the tanh GELU's where gate|up is packed
   * as a GeGLU pair: Gemma), and the down projection onto the
   * residual. Each projection is packed in the engine's own layout (its bias, if any, with it).
   * {@code qNorm}/{@code kNorm} (D), when not null, are per-head RMSNorms of the queries and new
   * keys before rotary (Qwen3), with {@code qkEps}.
   * {@code postAttentionNorm}/{@code postMlpNorm} (hidden), when not null, are Gemma 2's extra
   * RMSNorms of each branch's output before it joins the residual (the branch's last projection
   * then does not start from the residual). GPT-2's block: {@code inputNormBias}/{@code
   * mlpNormBias} (hidden) not null make its two norms LayerNorms, and {@code plainMlp} its MLP
   * c_fc ({@code gateUp}, I rows) → gelu_tanh → c_proj ({@code down}).
   */
  public record StackLayer(NDArray inputNorm, float inputEps, PackedGemm qkv, PackedGemm o,
      Heads heads, NDArray qNorm, NDArray kNorm, float qkEps, NDArray mlpNorm, float mlpEps,
      PackedGemm gateUp, PackedGemm down, NDArray postAttentionNorm, float postAttentionEps,
      NDArray postMlpNorm, float postMlpEps, NDArray inputNormBias, NDArray mlpNormBias,
      boolean plainMlp) {}

  /**
   * A decoder's whole layer stack as one native call a step ({@code stackStep} in {@code
   * cpu-kernels.c}): the kernels the per-op path calls, in its order, over activations in scratch
   * memory the calling thread keeps. The per-op path makes ~8 JNI calls, fresh libtorch tensors
   * and buffer views a layer; at decode batch sizes that serial Java/DJL work is where the second
   * thread waits (docs/benchmarks.md, session 10). It holds raw addresses of weights its model
   * owns: the model closes it first.
   */
  public static final class Stack implements AutoCloseable {
    private static final AtomicLong STEPS = new AtomicLong();
    private final AtomicLong handle;
    private final int layers;
    private final int hidden;
    private final int headDim;

    private Stack(long handle, int layers, int hidden, int headDim) {
      this.handle = new AtomicLong(handle);
      this.layers = layers;
      this.hidden = hidden;
      this.headDim = headDim;
    }

    /**
     * Whether a stack can run in this process: the engine's packed GEMM is in use (its own
     * layout, which the stack reads; {@link PackedGemm#gathersRows}) and {@code
     * LLM_BATCH_NATIVE_STACK} is not 0.
     */
    public static boolean runsHere() {
      return PackedGemm.gathersRows()
          && NativeLibraries.turnedOn("LLM_BATCH_NATIVE_STACK", "llmbatch.nativeStack");
    }

    /**
     * The stack of {@code blocks} (all with the same heads but their windows, scale and
     * softcap) and the final RMSNorm ({@code finalNorm} (hidden) or null; a LayerNorm where {@code
     * finalNormBias} is not null), or null where it cannot
     * run here: the engine's packed GEMM is not in use, or {@code LLM_BATCH_NATIVE_STACK=0}
     * ({@code -Dllmbatch.nativeStack=false}). Shapes must chain (hidden → q|k|v → hidden → 2I → I
     * → hidden), else IllegalArgumentException.
     */
    public static Stack of(List<StackLayer> blocks, NDArray finalNorm, NDArray finalNormBias,
        float finalEps, int hidden) {
      if (blocks.isEmpty() || !runsHere()) {
        return null;
      }
      Heads h = blocks.get(0).heads();
      int qkv = (h.heads() + 2 * h.kvHeads()) * h.headDim();
      int width = h.heads() * h.headDim();
      int inter = blocks.get(0).down().inFeatures();
      int n = blocks.size();
      long[] packed = new long[4 * n];
      ByteBuffer[] vectors = new ByteBuffer[10 * n + 2];
      int[] ints = new int[2 * n];
      float[] params = new float[6 * n + 1];
      boolean qkNorms = blocks.stream().anyMatch(b -> b.qNorm() != null || b.kNorm() != null);
      ByteBuffer[] qk = qkNorms ? new ByteBuffer[2 * n] : null;
      float qkEps = 0;
      for (int i = 0; i < n; i++) {
        StackLayer b = blocks.get(i);
        Heads bh = b.heads();
        if (bh.heads() != h.heads() || bh.kvHeads() != h.kvHeads()
            || bh.headDim() != h.headDim()) {
          throw new IllegalArgumentException("layer " + i + " has heads " + bh
              + ", layer 0 " + h + ": a stack's layers share their head layout");
        }
        PackedGemm[] ws = {b.qkv(), b.o(), b.gateUp(), b.down()};
        int[][] shapes = {{qkv, hidden}, {hidden, width},
            {(b.plainMlp() ? 1 : 2) * inter, hidden}, {hidden, inter}};
        String[] names = {"q|k|v", "o", b.plainMlp() ? "c_fc" : "gate|up", "down"};
        for (int j = 0; j < 4; j++) {
          if (ws[j].outFeatures() != shapes[j][0] || ws[j].inFeatures() != shapes[j][1]) {
            throw new IllegalArgumentException("layer " + i + "'s " + names[j] + " projection is ("
                + ws[j].outFeatures() + ", " + ws[j].inFeatures() + "), the stack needs ("
                + shapes[j][0] + ", " + shapes[j][1] + ")");
          }
          packed[4 * i + j] = ws[j].address();
          vectors[10 * i + 2 + j] = ws[j].biasBuffer();
        }
        vectors[10 * i] = vector(b.inputNorm(), hidden, "layer " + i + "'s input norm");
        vectors[10 * i + 1] = vector(b.mlpNorm(), hidden, "layer " + i + "'s MLP norm");
        vectors[10 * i + 6] = vector(b.postAttentionNorm(), hidden,
            "layer " + i + "'s post-attention norm");
        vectors[10 * i + 7] = vector(b.postMlpNorm(), hidden, "layer " + i + "'s post-MLP norm");
        vectors[10 * i + 8] = vector(b.inputNormBias(), hidden,
            "layer " + i + "'s input norm bias");
        vectors[10 * i + 9] = vector(b.mlpNormBias(), hidden, "layer " + i + "'s MLP norm bias");
        ints[2 * i] = bh.window();
        ints[2 * i + 1] = b.plainMlp() ? 1 : 0;
        params[6 * i] = b.inputEps();
        params[6 * i + 1] = b.mlpEps();
        params[6 * i + 2] = bh.scale();
        params[6 * i + 3] = bh.softcap();
        params[6 * i + 4] = b.postAttentionEps();
        params[6 * i + 5] = b.postMlpEps();
        if (qkNorms) {
          if (i > 0 && b.qkEps() != qkEps) {
            throw new IllegalArgumentException("layer " + i + "'s q/k norm eps " + b.qkEps()
                + " differs from layer 0's " + qkEps);
          }
          qkEps = b.qkEps();
          qk[2 * i] = vector(b.qNorm(), h.headDim(), "layer " + i + "'s q norm");
          qk[2 * i + 1] = vector(b.kNorm(), h.headDim(), "layer " + i + "'s k norm");
        }
      }
      vectors[10 * n] = vector(finalNorm, hidden, "the final norm");
      vectors[10 * n + 1] = vector(finalNormBias, hidden, "the final norm's bias");
      params[6 * n] = finalEps;
      long address = stackNew(n, hidden, h.heads(), h.kvHeads(), h.headDim(), inter, packed,
          vectors, ints, params, qk, qkEps);
      if (address == 0) {
        throw new OutOfMemoryError("cannot allocate the native layer stack");
      }
      return new Stack(address, n, hidden, h.headDim());
    }

    /**
     * One step: {@code x} (tokens, hidden) float32, the step's embedded tokens, goes through
     * every layer in place; {@code out} (sequences, hidden) gets each sequence's last token after
     * the final norm. Every token belongs to one of {@code s} (a fused step's); {@code kv} holds
     * per layer its key then value cache (rows of D, sequence i's KV head h at row {@code
     * kvRow[i] + h·capacity}); cos/sinSigned as {@link #project} takes them (null without rotary).
     */
    public void step(NDArray x, NDArray cos, NDArray sinSigned, ByteBuffer[] kv, int capacity,
        Sequences s, NDArray out) {
      check(x, hidden, "x");
      long tokens = x.getShape().size() / hidden;
      if (out.getShape().size() != (long) s.count().length * hidden
          || out.getDataType() != DataType.FLOAT32) {
        throw new IllegalArgumentException("native stack step: out " + out.getShape() + " for "
            + s.count().length + " sequences");
      }
      int rot = 0;
      if (cos != null) {
        rot = Math.toIntExact(cos.getShape().get(cos.getShape().dimension() - 1));
        check(cos, rot, "cos");
        check(sinSigned, rot, "sin");
      }
      step(buffer(x), Math.toIntExact(tokens), cos == null ? null : buffer(cos),
          sinSigned == null ? null : buffer(sinSigned), rot, kv, capacity, s, buffer(out));
    }

    /**
     * {@link #step} over direct buffers (native order) the caller keeps: {@code x} holds {@code
     * tokens} rows of hidden, cos/sinSigned {@code tokens} rows of {@code rot} (null, 0: no
     * rotary), {@code out} a row of hidden per sequence. No libtorch array is made: a decode step
     * that streams a model's weights finds DJL's and libtorch's bookkeeping cold, ~60 µs an array
     * made (docs/benchmarks.md, session 20).
     */
    public void step(ByteBuffer x, int tokens, ByteBuffer cos, ByteBuffer sinSigned, int rot,
        ByteBuffer[] kv, int capacity, Sequences s, ByteBuffer out) {
      long p = handle.get();
      if (p == 0) {
        throw new IllegalStateException("the native layer stack was used after close");
      }
      if (s.tokens() != tokens || kv.length != 2 * layers
          || x.capacity() < (long) tokens * hidden * Float.BYTES
          || out.capacity() < (long) s.count().length * hidden * Float.BYTES
          || (cos != null && (cos.capacity() < (long) tokens * rot * Float.BYTES
              || sinSigned == null || sinSigned.capacity() < cos.capacity()))) {
        throw new IllegalArgumentException("native stack step: " + tokens + " tokens, "
            + s.tokens() + " in the sequences, " + kv.length + " caches for " + layers
            + " layers, buffers x " + x.capacity() + " B, out " + out.capacity() + " B, cos "
            + (cos == null ? "none" : cos.capacity() + " B") + " for rot " + rot);
      }
      long[] base = new long[s.kvRow().length];
      for (int i = 0; i < base.length; i++) {
        base[i] = s.kvRow()[i] * headDim;
      }
      int rc = stackStep(p, x, tokens, cos, sinSigned, rot, kv, (long) capacity * headDim,
          s.first(), s.count(), s.start(), base, out, threads());
      if (rc != 0) {
        throw new OutOfMemoryError("cannot allocate scratch memory for the native layer stack");
      }
      STEPS.incrementAndGet();
    }

    /** How many steps this JVM has run through native layer stacks. */
    public static long steps() {
      return STEPS.get();
    }

    /**
     * Views of each layer's key then value cache, as {@link #step} takes them: made once per
     * cache, valid while its arrays live.
     */
    public static ByteBuffer[] caches(NDArray[] keys, NDArray[] values) {
      ByteBuffer[] kv = new ByteBuffer[2 * keys.length];
      for (int i = 0; i < keys.length; i++) {
        check(keys[i], keys[i].getShape().get(1), "keys");
        check(values[i], values[i].getShape().get(1), "values");
        kv[2 * i] = buffer(keys[i]);
        kv[2 * i + 1] = buffer(values[i]);
      }
      return kv;
    }

    @Override
    public void close() {
      long p = handle.getAndSet(0);
      if (p != 0) {
        stackFree(p);
      }
    }

    private static ByteBuffer vector(NDArray v, int n, String what) {
      if (v == null) {
        return null;
      }
      if (v.size() != n || v.getDataType() != DataType.FLOAT32) {
        throw new IllegalArgumentException(what + " must be float32 (" + n + "), not "
            + v.getDataType() + " " + v.getShape());
      }
      return buffer(v);
    }
  }

  /**
   * Whether {@link #rows} serves {@code table}: a CPU float32 (V, width) these kernels take whose
   * memory one Java buffer can span (under 2 GiB; a 7B model's table can be larger).
   */
  public static boolean gathers(NDArray table) {
    return serves(table) && table.getShape().dimension() == 2
        && table.size() * Float.BYTES <= Integer.MAX_VALUE;
  }

  /**
   * Rows {@code ids} (int64) of {@code table} (V, width), (count, width) in {@code manager}: an
   * embedding lookup as one copy a row. An id outside [0, V) is refused. Needs {@link #gathers}.
   */
  public static NDArray rows(NDArray table, NDArray ids, NDManager manager) {
    if (!gathers(table) || ids.getDataType() != DataType.INT64) {
      throw new IllegalArgumentException("a native row gather takes a CPU float32 table under 2"
          + " GiB and int64 ids, not " + table.getDataType() + " " + table.getShape() + " and "
          + ids.getDataType());
    }
    long v = table.getShape().get(0);
    int width = Math.toIntExact(table.getShape().get(1));
    ByteBuffer t = buffer(table);
    return gathered(ids, manager, v, width, "the table's",
        (idBuffer, count, out) -> gatherRows(t, v, width, idBuffer, count, out));
  }

  /**
   * Rows {@code ids} ({@code count} int64 in a direct buffer) of {@code table} (a direct view of
   * rows × width float32) into {@code out} (direct, count × width): −1, or the index of the first
   * id outside [0, rows), where nothing past it was copied. Needs {@link #available}.
   */
  public static int gatherInto(ByteBuffer table, long rows, int width, ByteBuffer ids, int count,
      ByteBuffer out) {
    if (count > 0 && (ids.capacity() < (long) count * Long.BYTES
        || out.capacity() < (long) count * width * Float.BYTES)) {
      throw new IllegalArgumentException(count + " ids need " + count * Long.BYTES + " B of ids"
          + " and " + (long) count * width * Float.BYTES + " B of rows, not " + ids.capacity()
          + " and " + out.capacity());
    }
    return count == 0 ? -1 : gatherRows(table, rows, width, ids, count, out);
  }

  /**
   * Whether decoders' CPU steps may skip libtorch arrays where every part of the step runs here
   * ({@code LLM_BATCH_DIRECT_STEP} not 0, {@code -Dllmbatch.directStep} not false): the layer
   * stack, the embedding gather and the packed LM head over buffers the stepping thread keeps.
   */
  public static boolean directSteps() {
    return available()
        && NativeLibraries.turnedOn("LLM_BATCH_DIRECT_STEP", "llmbatch.directStep");
  }

  /** A direct view of a CPU array's data, valid while the array lives. */
  public static ByteBuffer view(NDArray a) {
    return buffer(a);
  }

  /**
   * GFLOP/s of a short FMA loop ({@code iters} iterations of 12 16-lane FMA chains a thread) on the
   * team these kernels run on: for benchmarks, timed between their steps, it says what the host
   * left those threads meanwhile. Needs {@link #available}.
   */
  public static double fmaProbeGflops(long iters) {
    if (iters <= 0) {
      throw new IllegalArgumentException("an FMA probe needs iterations, not " + iters);
    }
    int[] team = new int[1];
    double seconds = probe(null, iters, team);
    return 2.0 * 12 * 16 * iters * team[0] / seconds / 1e9;
  }

  /**
   * GB/s at which the team these kernels run on reads {@code floats} float32 values from the start
   * of the direct buffer {@code x} (each thread a contiguous share): for benchmarks, a buffer far
   * larger than the caches read between their steps says what memory bandwidth the host left them
   * meanwhile. Needs {@link #available}.
   */
  public static double readProbeGbs(ByteBuffer x, long floats) {
    if (x == null || !x.isDirect() || floats <= 0 || floats * Float.BYTES > x.capacity()) {
      throw new IllegalArgumentException("a read probe needs a direct buffer of at least the "
          + floats + " floats it reads, not " + x);
    }
    int[] team = new int[1];
    double seconds = probe(x, floats, team);
    return floats * Float.BYTES / seconds / 1e9;
  }

  private static double probe(ByteBuffer x, long iters, int[] team) {
    if (!available()) {
      throw new IllegalStateException("no CPU kernels here: " + unavailableReason());
    }
    return probe(x, iters, threads(), team);
  }

  /** A native gather of rows into (count, width) float32: -1, or the first bad id's position. */
  interface RowGather {
    int gather(ByteBuffer ids, int count, ByteBuffer out);
  }

  /**
   * Rows {@code ids} (int64) of a table of {@code rows} × {@code width} by {@code g}, (count,
   * width) in {@code manager}; an id outside [0, rows) is refused, naming {@code of} the table.
   */
  static NDArray gathered(NDArray ids, NDManager manager, long rows, int width, String of,
      RowGather g) {
    int count = Math.toIntExact(ids.size());
    NDArray out = manager.create(new Shape(count, width), DataType.FLOAT32);
    if (count > 0) {
      int bad = g.gather(NativeLibraries.buffer(ids), count, buffer(out));
      if (bad >= 0) {
        long id = ids.flatten().getLong(bad);
        out.close();
        throw new IllegalArgumentException("id " + id + " is outside " + of + " " + rows
            + " rows");
      }
    }
    return out;
  }

  private static void check(NDArray a, long rowWidth, String what) {
    Shape s = a.getShape();
    if (a.getDataType() != DataType.FLOAT32 || s.dimension() == 0
        || s.size() % rowWidth != 0) {
      throw new IllegalArgumentException("fused CPU kernels take float32 " + what + " rows of "
          + rowWidth + ", not " + a.getDataType() + " " + s);
    }
  }

  private static NDArray result(int rc, NDArray out) {
    if (rc != 0) {
      out.close();
      throw new OutOfMemoryError("cannot allocate scratch memory for fused attention");
    }
    return out;
  }

  /**
   * Whether this build has the packed GEMM {@link PackedGemm} prefers (built where the CPU has
   * AVX-512, or AVX2 with FMA and F16C); loads the kernels first.
   */
  static boolean gemmAvailable() {
    return available() && gemmVectorBits() > 0;
  }

  /** The vector ISA the packed GEMM was built for: "AVX-512" or "AVX2"; null where not built. */
  static String gemmIsa() {
    return !gemmAvailable() ? null : gemmVectorBits() == 512 ? "AVX-512" : "AVX2";
  }

  /**
   * Packs {@code w} (n, k) float32 row-major for {@link #gemm}: where {@code half} (0: no; 1: yes;
   * 2: yes, bfloat16 ones for the AMX tile units where the CPU and kernel allow) allows, in a
   * 16-bit layout every value fits exactly (bfloat16, else float16; {@link #gemmPackedLayout}
   * tells), else as float32. With {@code split} &gt; 0, w is a gated gate|up weight (n = 2 ·
   * split, gate rows first), packed so {@link #gemm} gives {@code act(gate) · up} (m, split),
   * act the {@code gate}'s (0 SiLU: SwiGLU; 1 the tanh GELU: GeGLU). Its address, 0 without
   * memory (or for a split that does not halve n).
   */
  static long gemmPack(ByteBuffer w, int n, int k, int half, int split, int gate) {
    return gemmPack(w, n, k, half, split, gate, threads());
  }

  /**
   * y (m, n) = x (m, k) · Wᵀ (+ bias (n) when not null) (+ residual (m, n) when not null), W
   * packed by {@link #gemmPack}; for a SwiGLU pair (packed with a split), y (m, split) = silu(x ·
   * Gᵀ + bias_g) · (x · Uᵀ + bias_u), bit for bit what {@link #siluMul} makes of the plain product
   * (a GeGLU pair: what {@link #geluTanhMul} makes), and no residual.
   */
  static void gemm(ByteBuffer x, long packed, ByteBuffer bias, ByteBuffer residual, ByteBuffer y,
      int m, int n, int k) {
    gemm(x, packed, bias, residual, y, m, n, k, threads());
  }

  /**
   * The compiler flags: {@link #FLAGS}, plus {@code -mno-avx512f} (no AVX-512 instruction at all:
   * every AVX-512 subset depends on it) where AVX2 is asked for; an ISA other than {@code native}
   * or {@code avx2} is refused by name.
   */
  static List<String> flags() {
    String isa = System.getProperty(ISA_PROPERTY, System.getenv(ISA_ENV));
    if (isa == null || isa.isBlank() || "native".equalsIgnoreCase(isa.strip())) {
      return FLAGS;
    }
    if (!"avx2".equalsIgnoreCase(isa.strip())) {
      throw new IllegalArgumentException(ISA_ENV + " (or -D" + ISA_PROPERTY + ") is \"" + isa
          + "\": use native (the default: all the CPU has) or avx2 (no AVX-512)");
    }
    List<String> flags = new ArrayList<>(FLAGS);
    flags.add("-mno-avx512f");
    return List.copyOf(flags);
  }

  /** The kernels' thread count: libtorch's intra-op threads, read once when they load. */
  private static int threads() {
    return threads;
  }

  private static ByteBuffer buffer(NDArray a) {
    return NativeLibraries.buffer(a);
  }

  private static String load() {
    String blocked = NativeLibraries.blocked("LLM_BATCH_CPU_KERNELS", "llmbatch.cpuKernels");
    if (blocked != null) {
      return blocked;
    }
    threads = TorchRuntime.threads();
    try {
      String why = NativeLibraries.load(SOURCE, flags(), true);
      if (why != null) {
        return why;
      }
      Path gomp = NativeLibraries.loadedLibrary("libgomp", "libtorch_cpu.so");
      if (gomp == null) {
        LOG.info("No libgomp is mapped in this process: the fused CPU kernels run on the calling"
            + " thread");
      }
      return bind(gomp == null ? null : gomp.toString());
    } catch (IOException | UnsatisfiedLinkError e) {
      return "cannot load the JNI library: " + e;
    }
  }

  private static native String bind(String libgompPath);

  private static native double probe(ByteBuffer x, long iters, int threads, int[] team);

  private static native void rmsNorm(ByteBuffer x, ByteBuffer w, ByteBuffer out, int rows, int n,
      float eps, int threads);

  private static native void gatedMul(ByteBuffer gu, ByteBuffer out, boolean geluTanh, int rows,
      int n, int threads);

  private static native void inPlace(ByteBuffer x, int kind, int rows, int n, float param,
      int threads);

  private static native void addLayerNorm(ByteBuffer x, ByteBuffer y, ByteBuffer w, ByteBuffer b,
      ByteBuffer out, int rows, int n, float eps, int threads);


  private static native int argmaxRow(float[] row);

  private static native int nucleusKeysRow(float[] row, byte[] bins, int upto, long[] out);

  private static native int nucleusBinsRow(float[] row, double max, double invT, double floor,
      double scale, byte[] bins, int[] count, double[] mass);

  private static native int topKeysRow(float[] row, long[] out);

  private static native int gumbelCandidatesRow(float[] row, double invT, long key, double best,
      long[] table, double bins, double maxGumbel, int[] out);

  /** 512 (AVX-512), 256 (AVX2, FMA, F16C), or 0 where this build has no packed GEMM. */
  private static native int gemmVectorBits();

  /**
   * Bytes of the packed copy of an (n, k) weight in {@code layout} ({@link #gemmPackedLayout}'s
   * numbers; split &gt; 0: a SwiGLU pair, {@link #gemmPack}).
   */
  static native long gemmPackedBytes(int n, int k, int layout, int split);

  /**
   * The layout {@code w} (n, k) packs in with 16-bit layouts allowed: 0 float32, 1 bfloat16
   * (every value one, k even), 2 float16 (every value one).
   */
  static native int gemmLayoutFor(ByteBuffer w, int n, int k);

  /**
   * The layout of the copy {@link #gemmPack} made: 0 float32, 1 bfloat16, 2 float16, 3 bfloat16
   * for the AMX tile units.
   */
  static native int gemmPackedLayout(long packed);

  /**
   * Rows {@code ids} (int64, count) of the weight packed at {@code packed} into {@code out}
   * (count, k) float32; -1, or the position of the first id out of range.
   */
  static native int gemmRows(long packed, ByteBuffer ids, int count, ByteBuffer out);

  /** Whether bfloat16 weights pack for the AMX tile units here ({@link #gemmPack} half 2). */
  static native boolean amxUsable();

  /**
   * Where this CPU has AMX bfloat16 tiles but Linux refused this process their state (asked the
   * first time), why; else null (granted, or no tiles).
   */
  static native String amxRefusal();

  private static native long gemmPack(ByteBuffer w, int n, int k, int half, int split, int gate,
      int threads);

  private static native void gemm(ByteBuffer x, long packed, ByteBuffer bias,
      ByteBuffer residual, ByteBuffer y, int m, int n, int k, int threads);

  private static native int gatherRows(ByteBuffer table, long rows, int width, ByteBuffer ids,
      int count, ByteBuffer out);

  private static native long stackNew(int layers, int hidden, int heads, int kvHeads, int dim,
      int inter, long[] packed, ByteBuffer[] vectors, int[] ints, float[] params,
      ByteBuffer[] qk, float qkEps);

  private static native void stackFree(long stack);

  private static native int stackStep(long stack, ByteBuffer x, int tokens, ByteBuffer cos,
      ByteBuffer sin, int rot, ByteBuffer[] kv, long kvHead, int[] first, int[] count,
      int[] pos0, long[] kvBase, ByteBuffer out, int threads);

  /** Frees what {@link #gemmPack} allocated. */
  static native void gemmFree(long packed);

  private static native int attend(ByteBuffer q, long qStride, boolean fresh, ByteBuffer cos,
      ByteBuffer sin, int rot, ByteBuffer k, long kOffset, ByteBuffer v, long vOffset, long kvRow,
      long kvHead, ByteBuffer out, long outStride, int heads, int kvHeads, int dim, int[] first,
      int[] count, int[] pos0, long[] kvBase, boolean causal, int window, float scale,
      float softcap, int threads);
}
