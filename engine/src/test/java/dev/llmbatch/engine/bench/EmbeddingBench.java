package dev.llmbatch.engine.bench;

import ai.djl.Device;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.llmbatch.engine.embed.EmbeddingService;
import dev.llmbatch.engine.embed.PoolingChoice;
import dev.llmbatch.engine.embed.TokenBudgetBatcher;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.EncoderSpec;
import dev.llmbatch.engine.model.encoder.Encoders;
import dev.llmbatch.engine.model.encoder.RealEncoders;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.runtime.TorchRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The embeddings benchmark (a program, not a test): all-MiniLM-L6-v2 imported from its Maven
 * Central jar, a seeded workload of sentences, our engine (length-sorted batches of up to the
 * token budget in real tokens, packed without padding) against onnxruntime on the original ONNX
 * graph with padded length-sorted batches of up to the budget (as its graph needs) and the same
 * thread count, after one untimed pass of each,
 * alternating A B A B. Each timed round starts from the sentences for both: ours tokenizes inside
 * {@code EmbeddingService}, onnxruntime's round tokenizes them with the same tokenizer, just as
 * parallel, and plans its batches, before its runs. Sentences/s, tokens/s, MFU over the
 * vector-FMA peak F measured in the same run, padding efficiency, and the ratio. Run:
 * {@code submit-scripts/bench embedding [--quick]}.
 * System properties: {@code threads} (default: available cores), {@code budget} (tokens per
 * forward, default {@value EmbeddingService#DEFAULT_TOKEN_BUDGET}), {@code rounds} (default 5: one
 * round on a shared host varies by ±10%).
 */
public final class EmbeddingBench {
  private static final String[] WORDS = ("the of and to in is was for on that with as by at from"
      + " his her it an are were which this be or has had not but their they one all new more"
      + " city river system model data language learning network history music film game team"
      + " season government university school church station company album song series war"
      + " computing abstraction engineers transistors compilers embeddings vectors semantic"
      + " similarity search retrieval question answer document passage query sentence").split(" ");

  private EmbeddingBench() {}

  public static void main(String[] args) throws Exception {
    boolean quick = Arrays.asList(args).contains("--quick");
    int threads = Integer.getInteger("threads", Runtime.getRuntime().availableProcessors());
    int budget = Integer.getInteger("budget", EmbeddingService.DEFAULT_TOKEN_BUDGET);
    int n = quick ? 128 : 512;
    int rounds = Integer.getInteger("rounds", quick ? 2 : 5);
    TorchRuntime.engine(threads);
    System.out.printf("machine: %d cores available, %s %s, Java %s, libtorch %s, engine threads"
        + " %d, FP32%n", Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"),
        System.getProperty("os.arch"), System.getProperty("java.version"),
        TorchRuntime.engine().getVersion(), threads);
    for (String env : List.of("OMP_NUM_THREADS", "MKL_ENABLE_INSTRUCTIONS", "MKL_DEBUG_CPU_TYPE",
        "MKL_CBWR", "ONEDNN_MAX_CPU_ISA", "LD_PRELOAD")) {
      if (System.getenv(env) != null) {
        System.out.println("env " + env + "=" + System.getenv(env));
      }
    }
    double f = Roofline.fmaPeakGflops(threads) * 1e9;
    double sgemm = Roofline.sgemmGflops(2048) * 1e9;
    System.out.printf("F (vector FMA peak, %d threads) = %.1f GFLOP/s; libtorch sgemm 2048^3 ="
        + " %.1f GFLOP/s (%.0f%% of F)%n", threads, f / 1e9, sgemm / 1e9, 100 * sgemm / f);

    RealEncoders.Model model = RealEncoders.Model.MINILM;
    Path flavor = RealEncoders.flavor(model);
    HuggingFaceTokenizer tok = RealEncoders.tokenizer(model);
    List<String> texts = workload(n, 42);
    try (Encoder enc = Encoders.load(flavor.resolve("model"), Device.cpu(), ComputeDtype.FP32);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setIntraOpNumThreads(threads);
      opts.setInterOpNumThreads(1);
      opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      EmbeddingService svc = new EmbeddingService(enc, text -> RealEncoders.ids(tok, text),
          new PoolingChoice(dev.llmbatch.engine.model.Pooling.MEAN, true, 256, "bench"),
          new TokenBudgetBatcher(budget, EmbeddingService.DEFAULT_MAX_ROWS));
      // the same truncated ids and the same batches for both engines
      List<int[]> ids = tokenize(tok, texts);
      int[] lengths = ids.stream().mapToInt(a -> a.length).toArray();
      List<TokenBudgetBatcher.Batch> plan =
          new TokenBudgetBatcher(budget, EmbeddingService.DEFAULT_MAX_ROWS).plan(lengths);
      EncoderSpec spec = enc.spec();
      double flops = 0;
      long tokens = 0;
      for (int len : lengths) {
        flops += spec.flops(len);
        tokens += len;
      }
      System.out.printf("workload: %d sentences, %d tokens (mean %.1f, max %d), %.2f GFLOP per"
          + " pass; onnxruntime: %d padded batches of <= %d tokens, padding efficiency %.3f;"
          + " llm-batch: %d batches of <= %d tokens (%s)%n", n, tokens, (double) tokens / n,
          Arrays.stream(lengths).max().orElse(0), flops / 1e9, plan.size(), budget,
          TokenBudgetBatcher.paddingEfficiency(plan), svc.batcher().plan(lengths).size(), budget,
          svc.batcher().packed() ? "packed, real tokens" : "padded");
      try (OrtSession ort = env.createSession(RealEncoders.onnxBytes(model), opts)) {
        // warm-up: whole untimed passes of each, alternating, for at least warmSeconds (one
        // pass at least), so both allocators have grown to the workload's peak and the JIT has
        // compiled both Java sides: the timed rounds measure the steady state an executor runs in
        long warmUntil = System.nanoTime() + (long) ((quick ? 1 : 6) * 1e9);
        do {
          svc.embed(texts, null);
          runOrt(env, ort, ids, plan);
        } while (System.nanoTime() < warmUntil);
        double[] ours = new double[rounds];
        double[] theirs = new double[rounds];
        for (int r = 0; r < rounds; r++) {
          long t0 = System.nanoTime();
          EmbeddingService.Result res = svc.embed(texts, null);
          ours[r] = (System.nanoTime() - t0) / 1e9;
          if (!res.rows().stream().allMatch(EmbeddingService.Row::ok)) {
            throw new IllegalStateException("a row failed");
          }
          t0 = System.nanoTime();
          List<int[]> roundIds = tokenize(tok, texts);
          runOrt(env, ort, roundIds, new TokenBudgetBatcher(budget,
              EmbeddingService.DEFAULT_MAX_ROWS).plan(roundIds.stream().mapToInt(a -> a.length)
              .toArray()));
          theirs[r] = (System.nanoTime() - t0) / 1e9;
          System.out.printf("  round %d: llm-batch %.2f s, onnxruntime %.2f s, page faults so far"
              + " %d%n", r, ours[r], theirs[r], Roofline.minorFaults());
        }
        report("llm-batch (DJL libtorch)", Roofline.median(ours), n, tokens, flops, f);
        report("onnxruntime " + OrtEnvironment.getEnvironment().getVersion(),
            Roofline.median(theirs), n, tokens, flops, f);
        System.out.printf("ratio llm-batch / onnxruntime throughput = %.2f×%n",
            Roofline.median(theirs) / Roofline.median(ours));
      }
    }
  }

  private static void report(String name, double s, int n, long tokens, double flops, double f) {
    System.out.printf("%-28s %8.1f sentences/s %9.0f tokens/s  %6.1f GFLOP/s  MFU %.1f%%%n", name,
        n / s, tokens / s, flops / s / 1e9, 100 * flops / s / f);
  }

  /** Seeded sentences: mostly 5–40 words, one in eight 60–250 words (paragraphs). */
  static List<String> workload(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int words = r.nextInt(8) == 0 ? 60 + r.nextInt(190) : 5 + r.nextInt(36);
      StringBuilder b = new StringBuilder();
      for (int w = 0; w < words; w++) {
        b.append(w == 0 ? "" : " ").append(WORDS[r.nextInt(WORDS.length)]);
      }
      out.add(b.append('.').toString());
    }
    return out;
  }

  /** Token ids of each text, cut to 256 as the service does; tokenized in parallel as it does. */
  private static List<int[]> tokenize(HuggingFaceTokenizer tok, List<String> texts) {
    return texts.parallelStream().map(t -> {
      int[] full = RealEncoders.ids(tok, t);
      return full.length > 256 ? truncate(full, 256) : full;
    }).toList();
  }

  private static int[] truncate(int[] full, int max) {
    int[] out = Arrays.copyOf(full, max);
    out[max - 1] = full[full.length - 1];
    return out;
  }

  /** onnxruntime over the same padded batches; mean pooling + L2 in Java. */
  private static void runOrt(OrtEnvironment env, OrtSession ort, List<int[]> ids,
      List<TokenBudgetBatcher.Batch> plan) throws Exception {
    for (TokenBudgetBatcher.Batch b : plan) {
      int rows = b.rows().length;
      int t = b.maxLen();
      long[][] in = new long[rows][t];
      long[][] mask = new long[rows][t];
      long[][] types = new long[rows][t];
      for (int k = 0; k < rows; k++) {
        int[] a = ids.get(b.rows()[k]);
        for (int p = 0; p < a.length; p++) {
          in[k][p] = a[p];
          mask[k][p] = 1;
        }
      }
      try (OnnxTensor x = OnnxTensor.createTensor(env, in);
          OnnxTensor m = OnnxTensor.createTensor(env, mask);
          OnnxTensor y = OnnxTensor.createTensor(env, types);
          OrtSession.Result res = ort.run(Map.of("input_ids", x, "attention_mask", m,
              "token_type_ids", y))) {
        float[][][] h = (float[][][]) res.get(0).getValue();
        for (int k = 0; k < rows; k++) {
          int len = ids.get(b.rows()[k]).length;
          float[] v = new float[h[k][0].length];
          for (int p = 0; p < len; p++) {
            for (int d = 0; d < v.length; d++) {
              v[d] += h[k][p][d];
            }
          }
          double norm = 0;
          for (float x2 : v) {
            norm += x2 * (double) x2;
          }
          if (norm == 0) {
            throw new IllegalStateException("zero vector");
          }
        }
      }
    }
  }
}
