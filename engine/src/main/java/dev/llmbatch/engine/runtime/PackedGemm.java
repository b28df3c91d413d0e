package dev.llmbatch.engine.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A CPU float32 weight packed once into a GEMM panel layout, for {@code y = x·Wᵀ + b}.
 *
 * <p>Why: libtorch's {@code linear} calls {@code sgemm}, which copies W into its panel layout on
 * every call. With thousands of rows (prefill, embeddings) that copy is noise; with the 8–64 rows
 * of a decode step it costs as much as the product (measured here: 16 rows over a 100M model's
 * weights 23 ms with sgemm, 11 ms packed; docs/benchmarks.md). Two implementations pack once:
 * <ul>
 *   <li>the engine's own ({@link CpuKernels}, {@code cpu-kernels.c}), where the kernels are built
 *       with AVX-512: 48-column panels, an 8 × 48 register-blocked micro-kernel, and the next
 *       panel prefetched while the current one serves every row block, so the weight streams
 *       under the arithmetic. On this AMD CPU, over a 100M model's 49 weights in one process,
 *       it measured 1.4–1.6× oneMKL's packed sgemm at 8–64 rows (32 rows: 18.4 against 26.5
 *       ms), par at one row, and par with oneMKL's sgemm at thousands of rows. Where the CPU has
 *       AVX2, FMA and F16C but not AVX-512 (AMD Zen 2/3, Intel Haswell to Alder Lake): the same
 *       48-column panels (stored as their two 24-column halves, one after the other) in 4 × 24
 *       blocks, the same products bit for bit. On a 2-vCPU Zen 3 EPYC a 100M
 *       model's 32-row decode step took 66–68 ms against oneMKL's 81 ms, 1 and 8 rows par, and
 *       its BF16 checkpoint's batch-1 step 9.2 ms against 21.4 (its weights held in 16 bits);</li>
 *   <li>oneMKL's {@code cblas_sgemm_pack} / {@code cblas_sgemm_compute}, which libtorch exports
 *       and DJL's JNI does not, bound by a ~80-line JNI library ({@code packed-gemm.c}) from the
 *       libtorch the JVM already loaded: elsewhere (neither AVX-512 nor AVX2, or the kernels
 *       switched off).</li>
 * </ul>
 * Both libraries are compiled on first use ({@link NativeLibraries}).
 *
 * <p>Where neither can be built, {@link #available()} is false, says why once in the log, and
 * linears stay on libtorch's {@code linear}. {@code LLM_BATCH_PACKED_GEMM=0} (or {@code
 * -Dllmbatch.packedGemm=false}) turns packing off; {@code =mkl} chooses oneMKL's. The packed copy
 * is about the weight's size (oneMKL reserves more address space than it touches; the engine's
 * pads the last panel to 48 columns); the linear frees its own weight once packed.
 *
 * <p>The engine's packs a weight whose every value is a bfloat16 (one loaded from a BF16
 * checkpoint, as most published LMs are, and not rescaled since) as bfloat16, and one whose every
 * value is an IEEE half (an FP16 checkpoint's) as float16: the product is the same float32 one,
 * bit for bit, from half the bytes, so a decode step, which mostly streams weights, reads half as
 * much, and the model takes half the memory. {@code LLM_BATCH_PACKED_16BIT=0} (or {@code
 * -Dllmbatch.packed16bit=false}) packs those as float32 too.
 */
public final class PackedGemm implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PackedGemm.class);
  private static final String SOURCE = "packed-gemm.c";
  // which implementation packs, for every weight of this JVM: set by load(), published by PATH's
  // first answer
  private static boolean own;
  private static final NativePath PATH = new NativePath(PackedGemm::load, LOG,
      () -> "Decoders' CPU linears use " + (own ? "llm-batch's " + CpuKernels.gemmIsa()
          + " packed GEMM" : "oneMKL's"
          + " packed sgemm") + ": each weight is packed once instead of on every matmul"
          + " (LLM_BATCH_PACKED_GEMM=0 turns this off" + (own ? ", =mkl chooses oneMKL's" : "")
          + ")",
      "Decoders' CPU linears use libtorch's linear, which re-packs each weight per call (slower"
          + " at decode batch sizes)");

  private static final AtomicBoolean HALF_SAID = new AtomicBoolean();
  private static final AtomicLong PACKED = new AtomicLong();
  private static final AtomicLong HALF_PACKED = new AtomicLong();
  private static final AtomicLong AMX_PACKED = new AtomicLong();
  private static final AtomicLong SWIGLU_PACKED = new AtomicLong();
  private static final int AMX = 3; // CpuKernels.gemmPackedLayout's bfloat16 for the tile units
  private static final AtomicBoolean AMX_SAID = new AtomicBoolean();
  private static final AtomicBoolean AMX_REFUSAL_SAID = new AtomicBoolean();
  private static final String[] LAYOUTS = {"float32", "bfloat16", "float16", "bfloat16 on AMX"};

  private final AtomicLong address;
  private final int n; // out features
  private final int k; // in features
  private final ByteBuffer bias; // (n) float32, or null: a view of the caller's bias, made once
  private final int layout; // 0 float32, 1 bfloat16, 2 float16 panels
  private final int split; // a SwiGLU gate|up pair's half (n = 2 · split), else 0
  private final Gate gate; // such a pair's gate (SILU otherwise)

  /** The gate of a gate|up pair ({@link #packGlu}): SiLU (SwiGLU) or the tanh GELU (GeGLU). */
  public enum Gate {
    /** silu(gate) · up: Llama, Mistral, Qwen, Phi-3. */
    SILU,
    /** gelu_tanh(gate) · up (HF's gelu_pytorch_tanh): Gemma, Gemma 2. */
    GELU_TANH
  }

  private PackedGemm(long address, int n, int k, ByteBuffer bias, int layout, int split,
      Gate gate) {
    this.address = new AtomicLong(address);
    this.n = n;
    this.k = k;
    this.bias = bias;
    this.layout = layout;
    this.split = split;
    this.gate = gate;
  }

  /**
   * Whether packed GEMM can be used in this JVM (libtorch started, oneMKL's packed API bound); the
   * first call compiles and loads the JNI library and logs the outcome.
   */
  public static boolean available() {
    return PATH.available();
  }

  /**
   * Which implementation packs in this JVM ("llm-batch AVX-512", "llm-batch AVX2" or "oneMKL");
   * null if none.
   */
  public static String implementation() {
    return !available() ? null : own ? "llm-batch " + CpuKernels.gemmIsa() : "oneMKL";
  }

  /** Why {@link #available()} is false: null once it is true, "not checked yet" before it runs. */
  public static String unavailableReason() {
    return PATH.unavailableReason();
  }

  /**
   * Packs {@code w} (n, k), float32 on the CPU, for {@code x·wᵀ + bias}; {@code bias} (n) or null.
   * The caller keeps or frees {@code w}, but keeps {@code bias} for as long as this is used; the
   * packed copy lives until {@link #close()}. Requires {@link #available()}. A weight of bfloat16
   * values goes to the AMX tile units where the CPU has them ({@link #held} "bfloat16 on AMX",
   * unless LLM_BATCH_AMX=0): its products are then float32-accurate rather than float32's bit for
   * bit, and each row's still depends on that row alone.
   */
  public static PackedGemm pack(NDArray w, NDArray bias) {
    return pack(w, bias, 0, Gate.SILU);
  }

  /**
   * Whether {@link #packSwiGlu} packs here: the engine's own GEMM ({@link #available()}, not
   * oneMKL's).
   */
  public static boolean packsSwiGlu() {
    return available() && own;
  }

  /**
   * Packs a SwiGLU gate|up weight {@code w} (2 · split, k), gate rows first, as {@link #pack}
   * does but with each 48 gate columns next to the same 48 of up, so {@link #swiGlu} makes
   * {@code silu(x·Gᵀ + b_g) · (x·Uᵀ + b_u)} tile by tile: the (…, 2 · split) product never goes
   * through memory, and no separate pass over it. Requires {@link #packsSwiGlu()}.
   */
  public static PackedGemm packSwiGlu(NDArray w, NDArray bias, int split) {
    return packGlu(w, bias, split, Gate.SILU);
  }

  /**
   * {@link #packSwiGlu} with the pair's {@code gate}: {@link #swiGlu} then makes {@code
   * gate(x·Gᵀ + b_g) · (x·Uᵀ + b_u)} (GeGLU for {@link Gate#GELU_TANH}, bit for bit what {@link
   * CpuKernels#geluTanhMul} makes of the plain product).
   */
  public static PackedGemm packGlu(NDArray w, NDArray bias, int split, Gate gate) {
    if (!packsSwiGlu()) {
      throw new IllegalStateException("SwiGLU pairs need the engine's own packed GEMM, not "
          + (available() ? "oneMKL's" : "none: " + unavailableReason()));
    }
    if (split <= 0 || w.getShape().dimension() != 2 || w.getShape().get(0) != 2L * split) {
      throw new IllegalArgumentException("a SwiGLU pair of " + split + " takes a (" + 2L * split
          + ", k) gate|up weight, not " + w.getShape());
    }
    return pack(w, bias, split, gate);
  }

  private static PackedGemm pack(NDArray w, NDArray bias, int split, Gate gate) {
    if (!available()) {
      throw new IllegalStateException("packed GEMM is unavailable: " + unavailableReason());
    }
    Shape s = w.getShape();
    if (s.dimension() != 2 || w.getDataType() != DataType.FLOAT32) {
      throw new IllegalArgumentException("packed GEMM takes a 2-D float32 weight, not "
          + w.getDataType() + " " + s);
    }
    int n = Math.toIntExact(s.get(0));
    int k = Math.toIntExact(s.get(1));
    if (bias != null && (bias.size() != n || bias.getDataType() != DataType.FLOAT32)) {
      throw new IllegalArgumentException("packed GEMM (" + n + ", " + k + ") takes a float32 bias ("
          + n + "), not " + bias.getDataType() + " " + bias.getShape());
    }
    long address;
    // 0: float32 panels; 1: a 16-bit layout where every value fits; 2: bfloat16 ones for the AMX
    // tile units where the CPU has them and the kernel grants them
    int half = !own || !halfAllowed() ? 0 : amxAllowed() ? 2 : 1;
    try (NDManager tmp = w.getManager().newSubManager()) {
      w.tempAttach(tmp); // a contiguous copy libtorch may make for the buffer goes with tmp
      address = own ? CpuKernels.gemmPack(buffer(w), n, k, half, split,
          gate.ordinal()) : pack(buffer(w), n, k);
    }
    if (address == 0) {
      throw new OutOfMemoryError("cannot allocate "
          + (own ? CpuKernels.gemmPackedBytes(n, k, 0, split) : packedBytes(n, k))
          + " bytes of native memory to pack a (" + n + ", " + k + ") weight");
    }
    int layout = own ? CpuKernels.gemmPackedLayout(address) : 0;
    PACKED.incrementAndGet();
    if (layout != 0) {
      HALF_PACKED.incrementAndGet();
    }
    if (layout == AMX) {
      AMX_PACKED.incrementAndGet();
    }
    if (split > 0) {
      SWIGLU_PACKED.incrementAndGet();
    }
    LOG.debug("Packed a ({}, {}) weight as {}{}", n, k, LAYOUTS[layout],
        split > 0 ? ", a " + (gate == Gate.SILU ? "SwiGLU" : "GeGLU") + " pair" : "");
    if (layout != 0 && layout != AMX && !HALF_SAID.getAndSet(true)) {
      LOG.info("Weights whose values all are bfloat16 or IEEE halves (a BF16 or FP16"
          + " checkpoint's) are packed in those 16 bits and widened exactly in the GEMM: the same"
          + " float32 products from half the memory (LLM_BATCH_PACKED_16BIT=0 packs them as"
          + " float32)");
    }
    if (layout == 1 && half == 2 && !AMX_REFUSAL_SAID.getAndSet(true)) {
      String refusal = CpuKernels.amxRefusal(); // bfloat16, AMX allowed, but not taken: why?
      if (refusal != null) {
        LOG.warn("This CPU's AMX tile units cannot take bfloat16 weights: {}. They run on the"
            + " AVX-512 kernel instead (slower with many rows a step)", refusal);
      }
    }
    if (layout == AMX && !AMX_SAID.getAndSet(true)) {
      LOG.info("Weights whose values all are bfloat16 (a BF16 checkpoint's) are packed in those"
          + " 16 bits for this CPU's AMX tile units: each activation is split into three bfloat16"
          + " parts, whose products the tiles sum in float32, to float32 accuracy: faster than the"
          + " AVX-512 GEMM with many rows a step (prefill, full batches), slower with a few"
          + " (LLM_BATCH_AMX=0 keeps the AVX-512 GEMM, bit for bit float32's products)");
    }
    return new PackedGemm(address, n, k, bias == null ? null : buffer(bias), layout, split,
        gate);
  }

  /**
   * Whether {@link #pack} would pack {@code w} in a 16-bit layout, losing nothing: the engine's
   * GEMM is in use, 16-bit packing is not turned off, and {@code w} is a CPU float32 (n, k) whose
   * every value is a bfloat16 (k even) or an IEEE half. A loader asks before folding a scale into
   * a weight, which would make it float32 (and its stream twice the bytes).
   */
  public static boolean packsIn16Bits(NDArray w) {
    return layout16(w) != 0;
  }

  /**
   * The 16-bit layout {@link #pack} would give {@code w} (scanning it): 1 bfloat16, 2 float16, or
   * 0 where it packs as float32 (a value that fits neither, or 16-bit packing not possible or not
   * allowed, as for {@link #packsIn16Bits}).
   */
  public static int layout16(NDArray w) {
    Shape s = w.getShape();
    if (w.getDevice().isGpu() || s.dimension() != 2 || w.getDataType() != DataType.FLOAT32
        || !fits(s.get(0), s.get(1)) || !available() || !own || !halfAllowed()) {
      return 0;
    }
    try (NDManager tmp = w.getManager().newSubManager()) {
      w.tempAttach(tmp);
      return CpuKernels.gemmLayoutFor(buffer(w), Math.toIntExact(s.get(0)),
          Math.toIntExact(s.get(1)));
    }
  }

  /**
   * Whether {@link #pack} puts weights of bfloat16 values ({@link #layout16} 1) on the AMX tile
   * units: the engine's GEMM in use, 16-bit packing and AMX not turned off, a CPU whose tiles this
   * process may use. Asks nothing of a weight.
   */
  public static boolean amxTakesBfloat16() {
    return available() && own && halfAllowed() && amxAllowed() && CpuKernels.amxUsable();
  }

  /** How many weights this JVM has packed so far. */
  public static long packed() {
    return PACKED.get();
  }

  /** How many of those it packed in a 16-bit layout (bfloat16 or float16). */
  public static long halfPacked() {
    return HALF_PACKED.get();
  }

  /** How many of those it packed as bfloat16 for the AMX tile units. */
  public static long amxPacked() {
    return AMX_PACKED.get();
  }

  /** How many of those it packed as SwiGLU gate|up pairs ({@link #packSwiGlu}). */
  public static long swiGluPacked() {
    return SWIGLU_PACKED.get();
  }

  private static boolean halfAllowed() {
    return NativeLibraries.turnedOn("LLM_BATCH_PACKED_16BIT", "llmbatch.packed16bit");
  }

  private static boolean amxAllowed() {
    return NativeLibraries.turnedOn("LLM_BATCH_AMX", "llmbatch.amx");
  }

  /**
   * Whether an (n, k) float32 weight can be packed: its memory is handed to the packing code as
   * one Java buffer, which cannot span 2 GiB (a 7B model's untied LM head or a big tied table,
   * e.g. 152,064 × 3,584, can). A larger one stays on libtorch's {@code linear}.
   */
  public static boolean fits(long n, long k) {
    return n * k * Float.BYTES <= Integer.MAX_VALUE;
  }

  /**
   * Whether {@link #rows} works here: the engine's own layout (oneMKL's packed format is opaque).
   * A tied LM head is packed only then, its packed table serving the embedding lookup as well.
   */
  public static boolean gathersRows() {
    return available() && own;
  }

  /**
   * Rows {@code ids} (int64, any shape of {@code count} ids) of the packed weight, widened to
   * float32: (count, k) in {@code manager}, the values the weight held, bit for bit. An id
   * outside [0, n) is refused. Requires {@link #gathersRows()}.
   */
  public NDArray rows(NDArray ids, NDManager manager) {
    long p = live();
    if (split > 0) {
      throw new IllegalStateException("rows of a SwiGLU pair's packed weight are not readable");
    }
    if (!own || ids.getDataType() != DataType.INT64) {
      throw new IllegalArgumentException("rows of a packed weight take int64 ids from the"
          + " engine's own GEMM, not " + ids.getDataType() + (own ? "" : " from oneMKL's"));
    }
    return CpuKernels.gathered(ids, manager, n, k, "the packed weight's",
        (idBuffer, count, out) -> CpuKernels.gemmRows(p, idBuffer, count, out));
  }

  /**
   * {@link #rows} into direct buffers: {@code count} int64 ids, (count, k) float32 out. −1, or the
   * index of the first id outside [0, n) (nothing past it copied).
   */
  public int rowsInto(ByteBuffer ids, int count, ByteBuffer out) {
    long p = live();
    if (split > 0 || !own) {
      throw new IllegalStateException("rows are read from the engine's own packed layout, not a"
          + (split > 0 ? " SwiGLU pair's" : " oneMKL one"));
    }
    if (count > 0 && (ids.capacity() < (long) count * Long.BYTES
        || out.capacity() < (long) count * k * Float.BYTES)) {
      throw new IllegalArgumentException(count + " ids of a (" + n + ", " + k + ") packed weight"
          + " need " + (long) count * k * Float.BYTES + " B of rows, not " + out.capacity());
    }
    return count == 0 ? -1 : CpuKernels.gemmRows(p, ids, count, out);
  }

  /**
   * {@code y = x·Wᵀ + bias} over direct buffers (native order): x (rows, k) float32, y (rows, n).
   * The same product as {@link #apply}, with no libtorch array made.
   */
  public void applyInto(ByteBuffer x, int rows, ByteBuffer y) {
    long p = live();
    if (split > 0) {
      throw new IllegalStateException("a SwiGLU pair's packed weight (" + n + ", " + k + ") gives"
          + " silu(gate)·up (swiGlu), not the plain product");
    }
    if (x.capacity() < (long) rows * k * Float.BYTES
        || y.capacity() < (long) rows * n * Float.BYTES) {
      throw new IllegalArgumentException("packed GEMM (" + n + ", " + k + ") over " + rows
          + " rows needs " + (long) rows * k * Float.BYTES + " B of x and " + (long) rows * n
          * Float.BYTES + " B of y, not " + x.capacity() + " and " + y.capacity());
    }
    if (rows > 0) {
      multiply(p, x, null, y, rows);
    }
  }

  /** The packed copy's address, checked: not closed. */
  private long live() {
    long p = address.get();
    if (p == 0) {
      throw new IllegalStateException("packed weight (" + n + ", " + k + ") used after close");
    }
    return p;
  }

  /** y (rows, n) = residual (or 0) + x·Wᵀ + bias, by whichever GEMM packed the weight. */
  private void multiply(long p, ByteBuffer x, ByteBuffer residual, ByteBuffer y, int rows) {
    if (own) {
      CpuKernels.gemm(x, p, bias, residual, y, rows, n, k);
    } else {
      compute(x, p, bias, residual, y, rows, n, k);
    }
  }

  /** The packed copy's address (its header first), for {@link CpuKernels.Stack}; 0 once closed. */
  long address() {
    return address.get();
  }

  /** A view of the bias (n), or null. */
  ByteBuffer biasBuffer() {
    return bias;
  }

  /** Bytes the packed copy takes. */
  public long bytes() {
    return own ? CpuKernels.gemmPackedBytes(n, k, layout, split) : packedBytes(n, k);
  }

  /**
   * What the weight is held as: "float32", "bfloat16" or "float16" (exactly its values), or
   * "bfloat16 on AMX" (its values, bfloat16, in the tile units' layout; products to float32
   * accuracy rather than bit for bit, see {@link #pack}).
   */
  public String held() {
    return LAYOUTS[layout];
  }

  /** Out features (a SwiGLU pair's gate and up rows both). */
  public int outFeatures() {
    return n;
  }

  /** A SwiGLU (or GeGLU) pair's half ({@link #packSwiGlu}, {@link #packGlu}), else 0. */
  public int swiGluSplit() {
    return split;
  }

  /** A pair's gate ({@link #packGlu}); {@link Gate#SILU} for any other weight. */
  public Gate gate() {
    return gate;
  }

  /** In features. */
  public int inFeatures() {
    return k;
  }

  /** {@code x·Wᵀ + bias}: x (…, k) float32 on the CPU → (…, n) in x's manager. */
  public NDArray apply(NDArray x) {
    return apply(x, null);
  }

  /**
   * {@code residual + x·Wᵀ + bias} in one pass (the residual is the product's starting value, so
   * a decoder block's sum needs no separate add): x (…, k), residual float32 of the result's
   * shape (…, n); → a new (…, n) array in x's manager. A null residual is {@link #apply(NDArray)}.
   */
  public NDArray apply(NDArray x, NDArray residual) {
    if (split > 0) {
      throw new IllegalStateException("a SwiGLU pair's packed weight (" + n + ", " + k + ") gives"
          + " silu(gate)·up (swiGlu), not the plain product");
    }
    return product(x, residual, n);
  }

  /**
   * {@code silu(x·Gᵀ + b_g) · (x·Uᵀ + b_u)} for a SwiGLU pair ({@link #packSwiGlu}): x (…, k)
   * float32 on the CPU → (…, split) in x's manager, bit for bit what {@link
   * CpuKernels#siluMul} makes of the plain product; for a GeGLU pair ({@link #packGlu}) the
   * same with the tanh GELU, what {@link CpuKernels#geluTanhMul} makes.
   */
  public NDArray swiGlu(NDArray x) {
    if (split == 0) {
      throw new IllegalStateException("this packed weight (" + n + ", " + k + ") is not a SwiGLU"
          + " pair");
    }
    return product(x, null, split);
  }

  private NDArray product(NDArray x, NDArray residual, int width) {
    long p = live();
    Shape in = x.getShape();
    if (in.dimension() == 0 || in.get(in.dimension() - 1) != k
        || x.getDataType() != DataType.FLOAT32) {
      throw new IllegalArgumentException("packed GEMM (" + n + ", " + k + ") takes float32 x (…, "
          + k + "), not " + x.getDataType() + " " + in);
    }
    long rows = in.size() / k;
    long[] dims = in.getShape().clone(); // Shape hands out its own array
    dims[dims.length - 1] = width;
    Shape out = new Shape(dims);
    if (residual != null && (!residual.getShape().equals(out)
        || residual.getDataType() != DataType.FLOAT32 || residual.getDevice().isGpu())) {
      throw new IllegalArgumentException("packed GEMM (" + n + ", " + k + ") adds a float32 CPU"
          + " residual " + out + ", not " + residual.getDataType() + " " + residual.getShape()
          + " on " + residual.getDevice());
    }
    NDArray y = x.getManager().create(out, DataType.FLOAT32);
    if (rows > 0) {
      // a residual that is not contiguous is read through a contiguous copy (tied to it)
      ByteBuffer r = residual == null ? null : buffer(residual);
      multiply(p, buffer(x), r, buffer(y), Math.toIntExact(rows));
    }
    return y;
  }

  @Override
  public void close() {
    long p = address.getAndSet(0);
    if (p != 0 && own) {
      CpuKernels.gemmFree(p);
    } else if (p != 0) {
      free(p);
    }
  }

  private static ByteBuffer buffer(NDArray a) {
    return NativeLibraries.buffer(a);
  }

  /**
   * Takes the engine's own packed GEMM where the CPU kernels have it, unless oneMKL's is asked
   * for; else compiles (once per cache) and loads the oneMKL binding. Null, or why neither.
   */
  private static String load() {
    String blocked = NativeLibraries.blocked("LLM_BATCH_PACKED_GEMM", "llmbatch.packedGemm");
    if (blocked != null) {
      return blocked;
    }
    String choice = System.getProperty("llmbatch.packedGemm",
        System.getenv().getOrDefault("LLM_BATCH_PACKED_GEMM", "auto"));
    if (!"mkl".equalsIgnoreCase(choice) && CpuKernels.gemmAvailable()) {
      own = true;
      return null;
    }
    try {
      Path libtorch = NativeLibraries.loadedLibrary("libtorch_cpu.so");
      if (libtorch == null) {
        return "libtorch_cpu.so is not mapped in this process";
      }
      String why = NativeLibraries.load(SOURCE, List.of("-O2"), false);
      return why != null ? why : bind(libtorch.toString());
    } catch (IOException | UnsatisfiedLinkError e) {
      return "cannot load the JNI library: " + e;
    }
  }

  private static native String bind(String libtorchPath);

  private static native long pack(ByteBuffer w, int n, int k);

  private static native long packedBytes(int n, int k);

  private static native void compute(ByteBuffer x, long packed, ByteBuffer bias,
      ByteBuffer residual, ByteBuffer y, int m, int n, int k);

  private static native void free(long packed);
}
