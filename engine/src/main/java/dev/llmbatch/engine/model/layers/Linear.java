package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.llmbatch.engine.runtime.PackedGemm;

/**
 * {@code y = x·Wᵀ + b}, bias optional: one libtorch {@code linear} call, or, for a
 * {@linkplain #packable packable} linear on the CPU in float32, a packed GEMM ({@link PackedGemm}:
 * the engine's AVX-512 kernel, else oneMKL's): the weight is packed when its loader calls {@link
 * #prepack} (or on first use) and freed, so every call skips the per-call packing libtorch's
 * {@code linear} does, in the same memory (half of it for a BF16 or FP16 checkpoint's weight).
 * That is what a generating model's linears want (decode steps of a few rows, where that packing
 * costs as much as the product). Plain ones: an encoder's (thousands of rows, where packing
 * measured no gain), a tied LM head's where its packed copy could not serve the embedding
 * lookup ({@link #servesRows}; packing would hold the table twice) and any under {@link
 * #PACK_MIN_ELEMENTS} unless a native layer stack takes it ({@link #packedForStack}). Load-time
 * transforms ({@link #scaledInputs}, {@link #scaledOutputs}) come before packing.
 */
public final class Linear {
  /**
   * Weights smaller than this (out × in) stay on libtorch's {@code linear} even when packable:
   * they sit in cache, so sgemm's per-call copy is cheap, and the packed call's fixed cost measured
   * a few µs more (64×64: 5 against 10 µs a call; 256×256 and up: packed faster). A native layer
   * stack, where no such call arises, packs them anyway ({@link #packedForStack}).
   */
  static final long PACK_MIN_ELEMENTS = 1L << 16;
  private volatile NDArray weight; // (out, in); null once packed and freed
  private final NDArray bias; // (out) or null
  private final boolean packable; // pack once on the CPU (decoders)
  private final int swiGluSplit; // a SwiGLU gate|up weight's half, packed as pairs; else 0
  private final PackedGemm.Gate gate; // that pair's gate (SiLU; the tanh GELU for GeGLU)
  private final long outFeatures;
  private final long inFeatures;
  private volatile PackedGemm packed;
  private volatile boolean packingDecided;
  private volatile int layout16 = -1; // PackedGemm.layout16 of the weight once scanned; -1 before

  /** A plain linear: always libtorch's {@code linear}. */
  public Linear(NDArray weight, NDArray bias) {
    this(weight, bias, false);
  }

  private Linear(NDArray weight, NDArray bias, boolean packable) {
    this(weight, bias, packable, 0, PackedGemm.Gate.SILU);
  }

  private Linear(NDArray weight, NDArray bias, boolean packable, int swiGluSplit,
      PackedGemm.Gate gate) {
    this.weight = weight;
    this.bias = bias;
    this.packable = packable;
    this.swiGluSplit = swiGluSplit;
    this.gate = gate;
    this.outFeatures = weight.getShape().get(0);
    this.inFeatures = weight.getShape().get(1);
  }

  /**
   * A linear that packs its weight on the CPU and then frees it: the weight must be this linear's
   * alone.
   */
  public static Linear packable(NDArray weight, NDArray bias) {
    return new Linear(weight, bias, true);
  }

  /** Whether this linear packs on the CPU and has not decided yet ({@link #asSwiGlu} may apply). */
  boolean isPackable() {
    return packable && !packingDecided;
  }

  /**
   * This packable linear, a SwiGLU gate|up weight (2 · split, in), gate rows first, taking the
   * place of this one (same weight and bias): where the engine's GEMM packs it, it packs as
   * gate/up column pairs and {@link #swiGlu} gives {@code silu(gate) · up} in one pass; there its
   * {@link #apply} is refused. Before it is packed only.
   */
  public Linear asSwiGlu(int split) {
    return asGlu(split, PackedGemm.Gate.SILU);
  }

  /**
   * {@link #asSwiGlu} with the pair's gate: for {@link PackedGemm.Gate#GELU_TANH} (Gemma's GeGLU)
   * {@link #swiGlu} gives {@code gelu_tanh(gate) · up}.
   */
  public Linear asGlu(int split, PackedGemm.Gate gate) {
    if (!packable || packingDecided || outFeatures != 2L * split) {
      throw new IllegalStateException("a gate|up pair of " + split + " is a packable (" + 2L * split
          + ", in) linear not yet packed, not " + (packingDecided ? "a packed " : "a ")
          + "(" + outFeatures + ", " + inFeatures + ")");
    }
    return new Linear(weight, bias, true, split, gate);
  }

  /**
   * {@code silu(gate(x)) · up(x)}: (…, in) → (…, split), where this linear is packed as a SwiGLU
   * pair ({@link #asSwiGlu}; {@code gelu_tanh(gate(x)) · up(x)} for a GeGLU one, {@link #asGlu});
   * else null (the caller takes {@link #apply} and gates it).
   */
  public NDArray swiGlu(NDArray x) {
    PackedGemm p = packedFor(x);
    return p != null && p.swiGluSplit() > 0 ? p.swiGlu(x) : null;
  }

  /** (…, in) → (…, out). */
  public NDArray apply(NDArray x) {
    PackedGemm p = packedFor(x);
    if (p != null) {
      return p.apply(x);
    }
    NDArray w = weight;
    return x.getNDArrayInternal().linear(x, w, bias).singletonOrThrow();
  }

  /**
   * {@code residual + apply(x)}, a new array: one packed GEMM that starts from the residual where
   * this linear is packed (no separate add, no second pass over the sum), else libtorch's linear
   * and an add. {@code residual} has the result's shape and is not modified.
   */
  public NDArray applyWithResidual(NDArray x, NDArray residual) {
    PackedGemm p = packedFor(x);
    if (p != null && residual.getDataType() == DataType.FLOAT32) {
      return p.apply(x, residual);
    }
    return apply(x).addi(residual);
  }

  /**
   * Packs the weight now if its first float32 use would (a packable linear's on the CPU), so a
   * loader can pack each layer as it is built: the model never holds every weight both as loaded
   * and packed (a BF16 checkpoint's are widened to float32 on load and packed back to bfloat16),
   * and the first step does not pay for packing. Returns this.
   */
  public Linear prepack() {
    packedFor(DataType.FLOAT32);
    return this;
  }

  /** The packed weight for float32 CPU input, packed on first use; null for libtorch's linear. */
  private PackedGemm packedFor(NDArray x) {
    return packingDecided ? packed : packedFor(x.getDataType());
  }

  private PackedGemm packedFor(DataType input) {
    if (packingDecided) {
      return packed;
    }
    synchronized (this) {
      if (!packingDecided) {
        if (weightParameters() >= PACK_MIN_ELEMENTS && input == DataType.FLOAT32) {
          packNowIfPackable();
        }
        packingDecided = true;
      }
      return packed;
    }
  }

  /** Packs the weight and frees it, where this linear packs on this CPU at all (any size). */
  private void packNowIfPackable() {
    NDArray w = weight;
    if (packable && w != null && !w.getDevice().isGpu() && w.getDataType() == DataType.FLOAT32
        && PackedGemm.fits(outFeatures, inFeatures) && PackedGemm.available()) {
      PackedGemm p = swiGluSplit > 0 && PackedGemm.packsSwiGlu()
          ? PackedGemm.packGlu(w, bias, swiGluSplit, gate) : PackedGemm.pack(w, bias);
      w.getManager().attachInternal("packed-" + w.getUid(), p); // freed with the model
      packed = p;
      w.close(); // the packed copy replaces it
      weight = null;
    }
  }

  /** The packed weight once this linear is packed, else null (libtorch's linear). */
  public PackedGemm packed() {
    return packingDecided ? packed : null;
  }

  /**
   * The packed weight for the native layer stack ({@code CpuKernels.Stack}), which runs every
   * projection of a model's layers in one native call a step: a packable linear left on
   * libtorch's {@code linear} for its size alone (under {@link #PACK_MIN_ELEMENTS}, where a
   * separate packed call costs a few µs more) is packed now, since inside the stack no call of
   * its own arises, and a model of small projections (a test-sized one) runs as one call too.
   * Null where this linear does not pack on this CPU (plain, a GPU's, packing unavailable).
   */
  public PackedGemm packedForStack() {
    synchronized (this) {
      packedFor(DataType.FLOAT32);
      if (packed == null && weight != null) {
        packNowIfPackable(); // under PACK_MIN_ELEMENTS (a weight that could not pack still cannot)
      }
      return packed;
    }
  }

  /** Bytes of the packed copy once packed, else 0. */
  public long packedBytes() {
    PackedGemm p = packingDecided ? packed : null;
    return p == null ? 0 : p.bytes();
  }

  /**
   * What the packed copy holds the weight as ("float32", "bfloat16", "float16", "bfloat16 on
   * AMX"); null unpacked.
   */
  public String held() {
    PackedGemm p = packingDecided ? packed : null;
    return p == null ? null : p.held();
  }

  /** Whether {@link #rows} can serve: the weight is packed in the engine's own layout. */
  public boolean servesRows() {
    return packingDecided && packed != null && PackedGemm.gathersRows();
  }

  /**
   * Rows {@code ids} of the weight, (count, in) float32 in {@code manager}, read from the packed
   * copy (a tied LM head's table serving the embedding lookup); needs {@link #servesRows()}.
   */
  public NDArray rows(NDArray ids, NDManager manager) {
    if (!servesRows()) {
      throw new IllegalStateException("this linear's weight (" + outFeatures + ", " + inFeatures
          + ") is not packed in a layout rows can be read from");
    }
    return packed.rows(ids, manager);
  }

  /**
   * Whether this linear will hold its weight in 16 bits once packed ({@link
   * PackedGemm#packsIn16Bits}): its values all are bfloat16 or IEEE halves (a BF16 or FP16
   * checkpoint's). Folding a scale into it ({@link #scaledInputs}, {@link #scaledOutputs}) would
   * make it float32, twice the bytes every decode step streams, so a loader asks first. The weight
   * is scanned once, for this and {@link #packsOnAmx}; a small one too (under {@link
   * #PACK_MIN_ELEMENTS}), which a native layer stack packs ({@link #packedForStack}).
   */
  public boolean packsIn16Bits() {
    return layout16() != 0;
  }

  /**
   * Whether this linear's weight will go to the AMX tile units once packed: bfloat16 values
   * ({@link #packsIn16Bits}) on a CPU whose tiles this process may use ({@link
   * PackedGemm#amxTakesBfloat16}; no scan where it may not).
   */
  public boolean packsOnAmx() {
    return packable && PackedGemm.amxTakesBfloat16() && layout16() == 1;
  }

  private int layout16() {
    int l = layout16;
    NDArray w = weight;
    if (l < 0 && w != null) {
      l = packable ? PackedGemm.layout16(w) : 0;
      layout16 = l;
    }
    return Math.max(l, 0);
  }

  /**
   * This linear applied to {@code x·g} instead of {@code x}: {@code W' = W·diag(g)} (columns scaled,
   * bias unchanged), so the RMSNorm feeding it can drop its own multiply. A new weight replaces this
   * one, which is closed (it is owned by this linear alone).
   *
   * @param g (in)
   */
  public Linear scaledInputs(NDArray g) {
    NDArray weight = weight();
    NDArray w = weight.mul(g.toType(weight.getDataType(), false).reshape(1, -1)); // (out, in)
    w.attach(weight.getManager());
    weight.close();
    return new Linear(w, bias, packable, swiGluSplit, gate);
  }

  /**
   * This linear with its first {@code rows} outputs multiplied by {@code s} (weight rows and bias):
   * attention's 1/√d folded into the q projection. The old weight and bias are closed.
   */
  public Linear scaledOutputs(long rows, float s) {
    NDArray weight = weight();
    long out = outFeatures;
    float[] f = new float[(int) out];
    java.util.Arrays.fill(f, 0, (int) rows, s);
    java.util.Arrays.fill(f, (int) rows, (int) out, 1f);
    try (NDManager tmp = weight.getManager().newSubManager()) {
      NDArray col = tmp.create(f).toType(weight.getDataType(), false); // (out)
      NDArray w = weight.mul(col.reshape(out, 1));
      w.attach(weight.getManager());
      NDArray b = null;
      if (bias != null) {
        b = bias.mul(col);
        b.attach(bias.getManager());
        bias.close();
      }
      weight.close();
      return new Linear(w, b, packable, swiGluSplit, gate);
    }
  }

  /** The weight (out, in); only before the first {@link #apply} when that packs and frees it. */
  public NDArray weight() {
    NDArray w = weight;
    if (w == null) {
      throw new IllegalStateException("this linear's weight (" + outFeatures + ", " + inFeatures
          + ") was packed and freed; read or transform it before it is packed");
    }
    return w;
  }

  /** Matmul parameters: out × in. */
  public long weightParameters() {
    return outFeatures * inFeatures;
  }

  /** The bias (out), or null. */
  public NDArray bias() {
    return bias;
  }

  /** Parameters held (weight and bias). */
  public long parameters() {
    return weightParameters() + (bias == null ? 0 : bias.size());
  }
}
