package dev.llmbatch.engine.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A CPU float32 weight packed once into oneMKL's internal GEMM layout, for {@code y = x·Wᵀ + b}.
 *
 * <p>Why: libtorch's {@code linear} calls {@code sgemm}, which copies W into its panel layout on
 * every call. With thousands of rows (prefill, embeddings) that copy is noise; with the 8–64 rows
 * of a decode step it costs as much as the product (measured here: 16 rows over a 100M model's
 * weights 23 ms with sgemm, 11 ms packed; docs/benchmarks.md). oneMKL's {@code cblas_sgemm_pack} /
 * {@code cblas_sgemm_compute} pack once; libtorch exports them, DJL's JNI does not, so a ~80-line
 * JNI library ({@code packed-gemm.c}, a resource of this package) binds them from the libtorch the
 * JVM already loaded. It is compiled on first use ({@link NativeLibraries}).
 *
 * <p>Where gcc, the JDK headers or the symbols are missing, {@link #available()} is false, says why
 * once in the log, and linears stay on libtorch's {@code linear}. {@code LLM_BATCH_PACKED_GEMM=0}
 * (or {@code -Dllmbatch.packedGemm=false}) turns it off. The packed copy is about the weight's
 * size (oneMKL reserves more address space than it touches); the linear frees its own weight once
 * packed.
 */
public final class PackedGemm implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PackedGemm.class);
  private static final String SOURCE = "packed-gemm.c";
  private static final NativePath PATH = new NativePath(PackedGemm::load, LOG,
      "Decoders' CPU linears use oneMKL's packed sgemm: each weight is packed once instead of on"
          + " every matmul (LLM_BATCH_PACKED_GEMM=0 turns this off)",
      "Decoders' CPU linears use libtorch's linear, which re-packs each weight per call (slower"
          + " at decode batch sizes)");

  private final AtomicLong address;
  private final int n; // out features
  private final int k; // in features
  private final ByteBuffer bias; // (n) float32, or null: a view of the caller's bias, made once

  private PackedGemm(long address, int n, int k, ByteBuffer bias) {
    this.address = new AtomicLong(address);
    this.n = n;
    this.k = k;
    this.bias = bias;
  }

  /**
   * Whether packed GEMM can be used in this JVM (libtorch started, oneMKL's packed API bound); the
   * first call compiles and loads the JNI library and logs the outcome.
   */
  public static boolean available() {
    return PATH.available();
  }

  /** Why {@link #available()} is false: null once it is true, "not checked yet" before it runs. */
  public static String unavailableReason() {
    return PATH.unavailableReason();
  }

  /**
   * Packs {@code w} (n, k), float32 on the CPU, for {@code x·wᵀ + bias}; {@code bias} (n) or null.
   * The caller keeps or frees {@code w}, but keeps {@code bias} for as long as this is used; the
   * packed copy lives until {@link #close()}. Requires {@link #available()}.
   */
  public static PackedGemm pack(NDArray w, NDArray bias) {
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
    try (NDManager tmp = w.getManager().newSubManager()) {
      w.tempAttach(tmp); // a contiguous copy libtorch may make for the buffer goes with tmp
      address = pack(buffer(w), n, k);
    }
    if (address == 0) {
      throw new OutOfMemoryError("cannot allocate " + packedBytes(n, k)
          + " bytes of native memory to pack a (" + n + ", " + k + ") weight");
    }
    return new PackedGemm(address, n, k, bias == null ? null : buffer(bias));
  }

  /** Out features. */
  public int outFeatures() {
    return n;
  }

  /** In features. */
  public int inFeatures() {
    return k;
  }

  /** {@code x·Wᵀ + bias}: x (…, k) float32 on the CPU → (…, n) in x's manager. */
  public NDArray apply(NDArray x) {
    long p = address.get();
    if (p == 0) {
      throw new IllegalStateException("packed weight (" + n + ", " + k + ") used after close");
    }
    Shape in = x.getShape();
    if (in.dimension() == 0 || in.get(in.dimension() - 1) != k
        || x.getDataType() != DataType.FLOAT32) {
      throw new IllegalArgumentException("packed GEMM (" + n + ", " + k + ") takes float32 x (…, "
          + k + "), not " + x.getDataType() + " " + in);
    }
    long rows = in.size() / k;
    long[] dims = in.getShape().clone(); // Shape hands out its own array
    dims[dims.length - 1] = n;
    NDArray y = x.getManager().create(new Shape(dims), DataType.FLOAT32);
    if (rows > 0) {
      compute(buffer(x), p, bias, buffer(y), Math.toIntExact(rows), n, k);
    }
    return y;
  }

  @Override
  public void close() {
    long p = address.getAndSet(0);
    if (p != 0) {
      free(p);
    }
  }

  private static ByteBuffer buffer(NDArray a) {
    return NativeLibraries.buffer(a);
  }

  /** Compiles (once per cache) and loads the JNI library, then binds oneMKL; null, or why not. */
  private static String load() {
    String blocked = NativeLibraries.blocked("LLM_BATCH_PACKED_GEMM", "llmbatch.packedGemm");
    if (blocked != null) {
      return blocked;
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

  private static native void compute(ByteBuffer x, long packed, ByteBuffer bias, ByteBuffer y,
      int m, int n, int k);

  private static native void free(long packed);
}
