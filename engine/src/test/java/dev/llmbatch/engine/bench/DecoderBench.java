package dev.llmbatch.engine.bench;

import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.DecoderSpec;
import dev.llmbatch.engine.model.KvCache;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.model.layers.Linear;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.runtime.CpuKernels;
import dev.llmbatch.engine.runtime.PackedGemm;
import dev.llmbatch.engine.runtime.TorchRuntime;
import dev.llmbatch.engine.testing.TinyDecoders;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The raw decoder forward benchmark (a program, not a test): for a tiny and a ~100M-parameter
 * random Llama, prefill tokens/s with MFU against the FP32 peak F, and decode tokens/s at batch 1,
 * 8 and 32 with each one's fraction of its roofline B / max(W/BW, 2·P·B/F); F, BW and libtorch's
 * sgemm are measured in the same run (F: the FMA probe, or the best matmul rate seen, libtorch's
 * or the engine's GEMM, where the probe was interrupted and read below it). The 100M model runs
 * twice: stored as FP32, and stored as BF16 (as published checkpoints are), computed in FP32 both
 * times, W counting the bytes its linears are held in (4 a parameter, or 2 where the BF16
 * checkpoint's are held as bfloat16); where its weights went to the AMX tile units (Intel CPUs
 * since Sapphire Rapids) it runs a third time with AMX off, on the AVX-512 kernel, to show both.
 * Where the engine's CPU kernels run, probes on its own threads alternate with the timed decode
 * steps ({@link Beside}), and each batch also prints their FMA and read rates and its fraction of
 * the roofline at that FMA rate: on a shared host, how much of F and of the memory bandwidth the
 * steps were actually left. Where a prefill or those probes ran faster than F (the start's probe
 * was interrupted), every decode fraction is restated at the end against that higher rate. Run: {@code submit-scripts/bench decoder [--quick] [--limits-only]}.
 * System property {@code threads} overrides the engine threads (default: available cores).
 */
public final class DecoderBench {
  private DecoderBench() {}

  public static void main(String[] args) throws Exception {
    boolean quick = Arrays.asList(args).contains("--quick");
    int threads = Integer.getInteger("threads", Runtime.getRuntime().availableProcessors());
    TorchRuntime.engine(threads);
    System.out.printf("machine: %d cores available, %s %s, Java %s, vector lanes %d, libtorch %s,"
        + " engine threads %d%n", Runtime.getRuntime().availableProcessors(),
        System.getProperty("os.name"), System.getProperty("os.arch"),
        System.getProperty("java.version"), Roofline.lanes(), TorchRuntime.engine().getVersion(),
        threads);
    for (String env : List.of("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "KMP_BLOCKTIME",
        "MKL_ENABLE_INSTRUCTIONS", "MKL_DEBUG_CPU_TYPE", "ONEDNN_MAX_CPU_ISA", "LD_PRELOAD")) {
      if (System.getenv(env) != null) {
        System.out.println("env " + env + "=" + System.getenv(env));
      }
    }
    double fma = Roofline.fmaPeakGflops(threads) * 1e9;
    double bw = Roofline.triadGbs(threads) * 1e9;
    double sgemm = Roofline.sgemmGflops(2048) * 1e9;
    double packed = Roofline.engineGemmGflops() * 1e9;
    // a matmul cannot beat the peak: if one did, the FMA probe was interrupted and reads low (a
    // low F would overstate every compute-bound fraction below)
    double f = Math.max(fma, Math.max(sgemm, packed));
    System.out.printf("F (vector FMA peak, %d threads) = %.1f GFLOP/s%s%n", threads, f / 1e9,
        f > fma ? String.format(" (a matmul's: the FMA probe read %.1f, interrupted)", fma / 1e9)
            : "");
    System.out.printf("BW (triad, %d threads)          = %.1f GB/s%n", threads, bw / 1e9);
    System.out.printf("libtorch sgemm 2048^3           = %.1f GFLOP/s (%.0f%% of F)%n",
        sgemm / 1e9, 100 * sgemm / f);
    System.out.printf("engine GEMM 512x2048x2048       = %.1f GFLOP/s (%.0f%% of F)%n",
        packed / 1e9, 100 * packed / f);
    Beside beside = CpuKernels.available() ? new Beside(threads, f) : null;
    if (beside != null) {
      System.out.printf("reads on the engine's threads   = %.1f GB/s (32 MiB from memory, best of"
          + " 12: the read probe that alternates with decode steps below)%n",
          beside.bestReads / 1e9);
    }
    if (Arrays.asList(args).contains("--limits-only")) {
      return;
    }

    Path tmp = Files.createTempDirectory("decoder-bench");
    FlavorFixtures.deleteTreeOnExit(tmp); // the checkpoint is hundreds of MB
    Map<String, Object> tiny = TinyDecoders.config("llama", 32000, 64);
    tiny.remove("rope_scaling");
    List<Decode> all = new ArrayList<>();
    // the highest rate seen in this run: a prefill's, or the FMA probes' beside the steps
    double[] best = {f};
    all.addAll(run("tiny", TinyDecoders.write(tmp.resolve("tiny"), tiny, 1), threads, f, bw, quick,
        false, best, beside));
    all.addAll(run("100M", TinyDecoders.write(tmp.resolve("base"), config100M(), 2), threads, f,
        bw, quick, false, best, beside));
    // the same stored as BF16, as published checkpoints are: on the CPU still computed in float32,
    // its linears held (and streamed) as bfloat16, W half the bytes
    Path bf16 = TinyDecoders.write(tmp.resolve("base-bf16"), config100M(), 2,
        dev.llmbatch.flavor.safetensors.DType.BF16);
    all.addAll(run("100M BF16-checkpoint", bf16, threads, f, bw, quick, true, best, beside));
    if (PackedGemm.amxTakesBfloat16()) {
      // the same checkpoint on the AVX-512 kernel, as on CPUs without AMX
      System.setProperty("llmbatch.amx", "false");
      try {
        all.addAll(run("100M BF16, AMX off", bf16, threads, f, bw, quick, true, best, beside));
      } finally {
        System.clearProperty("llmbatch.amx");
      }
    }
    if (best[0] > f) {
      // a prefill, or the FMA probes beside the steps, ran faster than F: the start's probe read
      // low (the host took cycles from it), so the compute-bound fractions above are too high;
      // restate them against that rate
      System.out.printf("%nA prefill or the FMA probes beside the steps reached %.1f GFLOP/s,"
          + " above F = %.1f: the decode fractions against F' = %.1f GFLOP/s:%n", best[0] / 1e9,
          f / 1e9, best[0] / 1e9);
      for (Decode d : all) {
        double bound = d.b / Math.max(d.w / bw, 2.0 * d.p * d.b / best[0]);
        System.out.printf("  %-21s batch %2d: step %.2f ms -> %.0f%% of roofline%n", d.model,
            d.b, d.step * 1e3, 100 * (d.b / d.step) / bound);
      }
    }
  }

  /**
   * Probes on the engine's own threads ({@link CpuKernels}), taken between timed decode steps (A B
   * A B, as performance.md asks): an FMA loop of ~5 ms, and a read of a 32 MiB window of a 128 MiB
   * buffer, a different window each time, so it comes from memory. Side by side with the steps,
   * they show what a shared host left those threads of the cores and of the memory bandwidth
   * meanwhile, which F and BW, the best of several runs at the start, cannot. (A probe on threads
   * of its own read ~55% of F: it competes with the engine's threads, which spin a while after each
   * parallel region.)
   */
  private static final class Beside {
    private static final int WINDOW = 32 << 20;
    private final ByteBuffer[] windows = new ByteBuffer[4];
    private final long fmaIters;
    private final double bestReads;
    private int next;

    Beside(int threads, double f) {
      ByteBuffer all = ByteBuffer.allocateDirect(windows.length * WINDOW); // zeroed: faulted in
      for (int i = 0; i < windows.length; i++) {
        windows[i] = all.slice(i * WINDOW, WINDOW);
      }
      fmaIters = Math.max(1, (long) (5e-3 * f / (2.0 * 12 * 16 * threads)));
      double best = 0;
      for (int i = 0; i < 12; i++) {
        best = Math.max(best, reads());
      }
      bestReads = best;
    }

    /** FLOP/s of one FMA probe. */
    double flops() {
      return CpuKernels.fmaProbeGflops(fmaIters) * 1e9;
    }

    /** Bytes/s of one read probe, from the next window. */
    double reads() {
      ByteBuffer x = windows[next++ % windows.length];
      return CpuKernels.readProbeGbs(x, WINDOW / Float.BYTES) * 1e9;
    }
  }

  /** One decode measurement: model, batch, median step seconds, W bytes, P parameters. */
  private record Decode(String model, int b, double step, double w, long p) {}

  /**
   * Median seconds of {@code runs} prefills of one random {@code t}-token prompt into slot 0, after
   * one untimed.
   */
  static double prefillSeconds(CausalLm m, int t, int runs, SplittableRandom rnd) {
    double[] times = new double[runs];
    try (KvCache cache = m.allocateCache(1, t)) {
      int[] prompt = rnd.ints(t, 0, m.spec().vocabSize()).toArray();
      m.step(cache, List.of(new StepInput(0, 0, prompt)));
      for (int i = 0; i < runs; i++) {
        long t0 = System.nanoTime();
        m.step(cache, List.of(new StepInput(0, 0, prompt)));
        times[i] = (System.nanoTime() - t0) / 1e9;
      }
    }
    return Roofline.median(times);
  }

  /**
   * A t-token prefill's FLOPs: 2·P a token for the blocks' weights, plus q·k and p·v, 4·L·hidden a
   * pair over t²/2 pairs, plus the LM head (vocab × hidden) once: a prefill's step computes the
   * logits of its last token only. (Counting the head for every token, as this did before session
   * 11, read the 100M model's prefill ~30% high: its head is a quarter of its P.)
   */
  static double prefillFlops(DecoderSpec spec, long hidden, int t) {
    double head = (double) spec.vocabSize() * hidden;
    return 2.0 * (spec.matmulParameters() - head) * t + 2.0 * head
        + 4.0 * spec.numLayers() * hidden * t * t / 2.0;
  }

  /** The ~100M-parameter Llama the decoder benchmarks run (CPU here, GPU in {@link GpuBench}). */
  static Map<String, Object> config100M() {
    Map<String, Object> base = TinyDecoders.config("llama", 32000, 768);
    base.put("intermediate_size", 2048);
    base.put("num_hidden_layers", 12);
    base.put("num_attention_heads", 12);
    base.put("num_key_value_heads", 4);
    base.put("max_position_embeddings", 2048);
    base.put("tie_word_embeddings", false);
    base.remove("rope_scaling");
    return base;
  }

  private static List<Decode> run(String name, Path dir, int threads, double f, double bw,
      boolean quick, boolean bf16, double[] best, Beside beside) {
    List<Decode> out = new ArrayList<>();
    long packed = PackedGemm.halfPacked();
    long amx = PackedGemm.amxPacked();
    try (CausalLm m = Architectures.loadCausalLm(dir,
        new LoadOptions("cpu", ComputeDtype.FP32, threads))) {
      DecoderSpec spec = m.spec();
      long p = spec.matmulParameters();
      // decode reads every matmul weight once per step (embeddings: B rows), in the bytes it is
      // held in: float32, or bfloat16 where a BF16 checkpoint's weights are packed so
      double w = p * (bf16 ? 2.0 : 4.0);
      System.out.printf("%n== %s Llama: P(matmul) = %.1fM, W = %.0f MB, layers %d, compute %s,"
          + " %s%n", name, p / 1e6, w / 1e6, spec.numLayers(), spec.computeDtype(),
          m instanceof dev.llmbatch.engine.model.decoder.DecoderModel d && d.runsNativeStack()
              ? "layers as one native call a step" : "layers op by op");
      int t = quick ? 128 : 512;
      int ctx = 64;
      int steps = quick ? 8 : (name.equals("tiny") ? 64 : 40);
      SplittableRandom rnd = new SplittableRandom(7);
      double ps = prefillSeconds(m, t, quick ? 2 : 4, rnd);
      double flops = prefillFlops(spec, hiddenOf(dir), t);
      System.out.printf("prefill %d tokens: %.0f tokens/s, MFU %.1f%% of F (%.1f GFLOP/s)%n", t,
          t / ps, 100 * flops / ps / f, flops / ps / 1e9);
      if (PackedGemm.amxPacked() == amx) { // (the AMX tiles' rate is not the FMA units' F)
        best[0] = Math.max(best[0], flops / ps);
      }
      long held = PackedGemm.halfPacked() - packed;
      if (bf16 && held == 0) {
        System.out.println("  (no weight is held as bfloat16 here: LLM_BATCH_PACKED_16BIT=0, or not"
            + " the engine's packed GEMM; W read as 2 bytes a parameter overstates the roofline)");
      } else if (bf16) {
        long tiles = PackedGemm.amxPacked() - amx;
        System.out.printf("  %d weights held as bfloat16%s%n", held, tiles == 0 ? ""
            : String.format(", %d of them for the AMX tiles: their products run on the tile"
                + " units, whose rate F does not measure, so fractions above 100%% are possible",
                tiles));
      }
      // decode at batch 1, 8, 32 after a prefill of ctx tokens per slot
      for (int b : new int[] {1, 8, 32}) {
        // steady state, as a long batch job sees it: the JIT has compiled DJL's Java side first
        // (at least this many steps, and at least warmSeconds of them: a 100M step is 10-30 ms;
        // further warm-up steps decode positions ctx.. again, so the timed steps still read
        // ctx + warm .. cached tokens)
        int warm = quick ? 12 : 20;
        double warmSeconds = quick ? 0.5 : 3;
        try (KvCache cache = m.allocateCache(b, ctx + warm + steps + 4)) {
          prefillSlots(m, cache, b, ctx, rnd);
          // one set of logit rows for every step, as GenerationEngine keeps
          float[][] rows = new float[b][spec.vocabSize()];
          double[] times = new double[steps];
          // probes before every step, warm-up included (so the steps run as timed)
          double[] flopRates = new double[steps];
          double[] readRates = new double[steps];
          long warmUntil = System.nanoTime() + (long) (warmSeconds * 1e9);
          for (int s = -warm; s < steps; s++) {
            if (s == 0 && System.nanoTime() < warmUntil) {
              s = -warm; // another round of warm-up steps
            }
            List<StepInput> in = new ArrayList<>();
            for (int i = 0; i < b; i++) {
              in.add(new StepInput(i, ctx + warm + s, new int[] {rnd.nextInt(spec.vocabSize())}));
            }
            double flopRate = beside == null ? 0 : beside.flops();
            double readRate = beside == null ? 0 : beside.reads();
            long t0 = System.nanoTime();
            m.step(cache, in, rows);
            if (s >= 0) {
              times[s] = (System.nanoTime() - t0) / 1e9;
              flopRates[s] = flopRate;
              readRates[s] = readRate;
            }
          }
          double step = Roofline.median(times);
          out.add(new Decode(name, b, step, w, p));
          double bound = b / Math.max(w / bw, 2.0 * p * b / f);
          System.out.printf("decode batch %2d: %.0f tokens/s (step %.2f ms), roofline %.0f"
              + " tokens/s -> %.0f%% of roofline%n", b, b / step, step * 1e3, bound,
              100 * (b / step) / bound);
          if (beside != null) { // the same steps beside what the host left their threads
            double fb = Roofline.median(flopRates);
            double rb = Roofline.median(readRates);
            best[0] = Math.max(best[0], fb); // the FMA units ran at least this fast meanwhile
            double boundBeside = b / Math.max(w / bw, 2.0 * p * b / fb);
            System.out.printf("  probes alternating with these steps on the engine's threads: FMA"
                + " %.1f GFLOP/s (%.0f%% of F), reads %.1f GB/s (%.0f%% of their best) -> %.0f%%"
                + " of the roofline at that FMA rate%n", fb / 1e9, 100 * fb / f, rb / 1e9,
                100 * rb / beside.bestReads, 100 * (b / step) / boundBeside);
          }
          double gemm = gemmsAlone(dir, b, quick ? 5 : 9, bf16);
          System.out.printf("  its linears alone (the engine's Linear, same shapes, own weights):"
              + " %.2f ms -> %.0f%% of roofline; the rest of the step %.2f ms%n", gemm * 1e3,
              100 * (b / gemm) / bound, (step - gemm) * 1e3);
        }
      }
    }
    return out;
  }

  /**
   * Median seconds of one decode step's matrix products alone — every layer's q/k/v, o, gate/up
   * and down projections and the LM head, each the engine's {@link Linear} (a packed GEMM on the
   * CPU when available, else libtorch's linear) over its own random weight of the model's shape
   * (so weights stream from memory as in the step) on {@code b} rows: the ceiling any step built
   * on these products can reach, whatever the rest costs.
   */
  private static double gemmsAlone(Path dir, int b, int runs, boolean bf16) {
    var cfg = Architectures.readConfig(dir);
    long h = cfg.get("hidden_size").asLong();
    long heads = cfg.get("num_attention_heads").asLong();
    long kvHeads = cfg.path("num_key_value_heads").asLong(heads);
    long d = cfg.path("head_dim").asLong(h / heads);
    long ffn = cfg.get("intermediate_size").asLong();
    long vocab = cfg.get("vocab_size").asLong();
    int layers = cfg.get("num_hidden_layers").asInt();
    List<long[]> shapes = new ArrayList<>(); // (out, in)
    for (int i = 0; i < layers; i++) {
      shapes.add(new long[] {(heads + 2 * kvHeads) * d, h});
      shapes.add(new long[] {h, heads * d});
      shapes.add(new long[] {2 * ffn, h});
      shapes.add(new long[] {h, ffn});
    }
    shapes.add(new long[] {vocab, h});
    try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager(
        ai.djl.Device.cpu(), "PyTorch")) {
      List<Linear> ws = new ArrayList<>();
      List<ai.djl.ndarray.NDArray> xs = new ArrayList<>();
      for (long[] sh : shapes) {
        ai.djl.ndarray.types.Shape shape = new ai.djl.ndarray.types.Shape(sh[0], sh[1]);
        ai.djl.ndarray.NDArray w = m.randomNormal(shape);
        if (bf16) { // values a BF16 checkpoint could hold
          float[] v = w.toFloatArray();
          for (int i = 0; i < v.length; i++) {
            v[i] = Float.intBitsToFloat(TinyDecoders.bf16Bits(v[i]) << 16);
          }
          w.close();
          w = m.create(v, shape);
        }
        ws.add(Linear.packable(w, null));
        xs.add(m.randomNormal(new ai.djl.ndarray.types.Shape(b, sh[1])));
      }
      double[] t = new double[runs];
      for (int r = -2; r < runs; r++) {
        long t0 = System.nanoTime();
        for (int i = 0; i < ws.size(); i++) {
          ws.get(i).apply(xs.get(i)).close();
        }
        if (r >= 0) {
          t[r] = (System.nanoTime() - t0) / 1e9;
        }
      }
      return Roofline.median(t);
    }
  }

  private static int hiddenOf(Path dir) {
    return Architectures.readConfig(dir).get("hidden_size").asInt();
  }

  /** Fills slots 0..b−1 of {@code cache} with ctx random tokens each, in one step. */
  static void prefillSlots(CausalLm m, KvCache cache, int b, int ctx, SplittableRandom rnd) {
    List<StepInput> pre = new ArrayList<>();
    for (int i = 0; i < b; i++) {
      pre.add(new StepInput(i, 0, rnd.ints(ctx, 0, m.spec().vocabSize()).toArray()));
    }
    m.step(cache, pre);
  }

}
