package dev.llmbatch.engine.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.llmbatch.engine.model.layers.Linear;
import dev.llmbatch.engine.runtime.CpuKernels;
import dev.llmbatch.engine.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's limits, measured in the same run as the model figures: F (peak FP32 FLOP/s from a
 * vector FMA loop on every core), BW (a STREAM triad over arrays far larger than the caches) and
 * libtorch's sgemm through DJL. Needs {@code --add-modules jdk.incubator.vector}.
 */
final class Roofline {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

  private Roofline() {}

  /** Lanes of the preferred vector (16 with AVX-512). */
  static int lanes() {
    return S.length();
  }

  /**
   * Peak FP32 GFLOP/s: 12 independent FMA chains per thread (hides FMA latency on 2 ports), best of
   * ten runs of ~0.2 s. The peak is the cores'; a run that something else on the host interrupts
   * only reads lower (three runs read 313 GFLOP/s here once, where sgemm then ran at 338). Runs of
   * 20M iterations (~40 ms, thread start included) read 2–9% under a C loop's 430 GFLOP/s here, and
   * under what the engine's own GEMM then reached in prefill (MFU over 100%): 100M read 429–434.
   * Where the engine's CPU kernels load, their native probe (the same 12 chains in C, on libtorch's
   * threads) runs ten ~50 ms times too, and the higher reading counts: on a 2-vCPU Zen 3 EPYC
   * (AVX2) the JIT's loop read ~120 GFLOP/s where the native one read 182–202, which libtorch's
   * sgemm and the engine's GEMM approach (docs/benchmarks.md, session 24).
   */
  static double fmaPeakGflops(int threads) throws Exception {
    long iters = 100_000_000L;
    fmaChains(1_000_000L); // JIT warm-up
    double best = 0;
    for (int rep = 0; rep < 10; rep++) {
      long t0 = System.nanoTime();
      parallel(threads, () -> fmaChains(iters));
      double s = (System.nanoTime() - t0) / 1e9;
      best = Math.max(best, 2.0 * 12 * S.length() * iters * threads / s / 1e9);
    }
    if (CpuKernels.available()) {
      long nativeIters = (long) (0.05 * best * 1e9 / (2.0 * 12 * 16 * threads));
      for (int rep = 0; rep < 10; rep++) {
        best = Math.max(best, CpuKernels.fmaProbeGflops(nativeIters));
      }
    }
    return best;
  }

  private static float fmaChains(long iters) {
    FloatVector m = FloatVector.broadcast(S, 0.999999f);
    FloatVector a = FloatVector.broadcast(S, 1e-7f);
    // each chain its own start: twelve equal chains are one chain to the JIT, which read ~60% of
    // the AVX2 peak on a Zen 3 EPYC (the AVX-512 one was right, docs/benchmarks.md, session 24)
    FloatVector c0 = FloatVector.broadcast(S, 1f);
    FloatVector c1 = FloatVector.broadcast(S, 1.001f);
    FloatVector c2 = FloatVector.broadcast(S, 1.002f);
    FloatVector c3 = FloatVector.broadcast(S, 1.003f);
    FloatVector c4 = FloatVector.broadcast(S, 1.004f);
    FloatVector c5 = FloatVector.broadcast(S, 1.005f);
    FloatVector c6 = FloatVector.broadcast(S, 1.006f);
    FloatVector c7 = FloatVector.broadcast(S, 1.007f);
    FloatVector c8 = FloatVector.broadcast(S, 1.008f);
    FloatVector c9 = FloatVector.broadcast(S, 1.009f);
    FloatVector c10 = FloatVector.broadcast(S, 1.010f);
    FloatVector c11 = FloatVector.broadcast(S, 1.011f);
    for (long i = 0; i < iters; i++) {
      c0 = c0.fma(m, a);
      c1 = c1.fma(m, a);
      c2 = c2.fma(m, a);
      c3 = c3.fma(m, a);
      c4 = c4.fma(m, a);
      c5 = c5.fma(m, a);
      c6 = c6.fma(m, a);
      c7 = c7.fma(m, a);
      c8 = c8.fma(m, a);
      c9 = c9.fma(m, a);
      c10 = c10.fma(m, a);
      c11 = c11.fma(m, a);
    }
    return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10)
        .add(c11).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
  }

  /**
   * STREAM triad a = b + s·c over 3 × 64 MiB per thread, best of ten; GB/s counting 3 × 4 bytes
   * per element.
   */
  static double triadGbs(int threads) throws Exception {
    int n = 16 << 20;
    float[][] a = new float[threads][n];
    float[][] b = new float[threads][n];
    float[][] c = new float[threads][n];
    for (int t = 0; t < threads; t++) {
      Arrays.fill(b[t], 1f);
      Arrays.fill(c[t], 2f);
    }
    double best = 0;
    for (int rep = 0; rep < 10; rep++) {
      long t0 = System.nanoTime();
      List<Callable<Float>> jobs = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int k = t;
        jobs.add(() -> triad(a[k], b[k], c[k], 3f));
      }
      run(jobs);
      double s = (System.nanoTime() - t0) / 1e9;
      best = Math.max(best, 12.0 * n * threads / s / 1e9);
    }
    return best;
  }

  private static float triad(float[] a, float[] b, float[] c, float s) {
    FloatVector sv = FloatVector.broadcast(S, s);
    for (int i = 0; i < S.loopBound(a.length); i += S.length()) {
      FloatVector.fromArray(S, c, i).fma(sv, FloatVector.fromArray(S, b, i)).intoArray(a, i);
    }
    return a[a.length / 2];
  }

  /**
   * This process's minor page faults so far (from {@code /proc/self/stat}), or -1 where there is
   * no such file. Each is a fresh page the kernel had to map and zero.
   */
  static long minorFaults() {
    try {
      String stat = Files.readString(Path.of("/proc/self/stat"));
      return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[7]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** libtorch sgemm through DJL: GFLOP/s of an n×n×n FP32 matmul, best of several. */
  static double sgemmGflops(int n) {
    try (NDManager m = TorchRuntime.engine().newBaseManager()) {
      NDArray a = m.randomUniform(-1, 1, new Shape(n, n));
      NDArray b = m.randomUniform(-1, 1, new Shape(n, n));
      // toFloatArray forces completion (a no-op on CPU, a sync on GPU)
      return bestGflops(2.0 * n * n * n, () -> {
        try (NDArray c = a.matMul(b)) {
          c.toFloatArray();
        }
      });
    }
  }

  /**
   * The engine's {@link Linear} (its packed GEMM where available) on a prefill-shaped product,
   * 512 rows × a (2048, 2048) weight: GFLOP/s, best of several.
   */
  static double engineGemmGflops() {
    try (NDManager m = TorchRuntime.engine().newBaseManager()) {
      Linear w = Linear.packable(m.randomUniform(-1, 1, new Shape(2048, 2048)), null).prepack();
      NDArray x = m.randomUniform(-1, 1, new Shape(512, 2048));
      return bestGflops(2.0 * 512 * 2048 * 2048, () -> w.apply(x).close());
    }
  }

  /** GFLOP/s of {@code op} ({@code flops} each run): best of five after one untimed. */
  private static double bestGflops(double flops, Runnable op) {
    op.run();
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
      long t0 = System.nanoTime();
      op.run();
      best = Math.max(best, flops / ((System.nanoTime() - t0) / 1e9) / 1e9);
    }
    return best;
  }

  private static void parallel(int threads, Callable<Float> job) throws Exception {
    List<Callable<Float>> jobs = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      jobs.add(job);
    }
    run(jobs);
  }

  private static void run(List<Callable<Float>> jobs) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(jobs.size());
    try {
      float sink = 0;
      for (Future<Float> f : pool.invokeAll(jobs)) {
        sink += f.get();
      }
      if (sink == 42.4242f) {
        System.out.print("");
      }
    } finally {
      pool.shutdown();
    }
  }

  /** The median of {@code v} (the upper one for an even count). */
  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }
}
