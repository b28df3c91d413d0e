package dev.llmbatch.engine.bench;

import dev.llmbatch.engine.generate.DecodedText;
import dev.llmbatch.engine.generate.GenerationEngine;
import dev.llmbatch.engine.generate.GenerationRequest;
import dev.llmbatch.engine.generate.GenerationResult;
import dev.llmbatch.engine.generate.SamplingParams;
import dev.llmbatch.engine.generate.SchedulerConfig;
import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.runtime.TorchRuntime;
import dev.llmbatch.engine.tokenizer.TextTokenizer;
import dev.llmbatch.flavor.safetensors.DType;
import dev.llmbatch.flavor.sample.SampleModels;
import dev.llmbatch.flavor.sample.SampleTokenizers;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * Continuous vs static batching on one model and one seeded workload, alternating (A B B A ...),
 * as vLLM's benchmark_throughput does. Output lengths are heavy-tailed like chat traffic
 * (lognormal, median 60 tokens, ~1% over 500) and forced with {@code ignore_eos}. Static batching
 * runs each batch of {@code slots} requests until its longest one ends (every row computes until
 * then, as padded HF {@code generate} does); continuous batching refills a slot the step after it
 * frees. Prints requests/s, useful output tokens/s, the measured ratio, and the ideal ratio
 * (static slot-steps ÷ useful steps) of the same workload.
 *
 * <p>Run: {@code submit-scripts/bench generation [requests=192] [slots=16] [rounds=3]
 * [threads=2] [seed=7] [hidden=768] [layers=4] [device=cpu]}. Writes a random Llama (head_dim 64, a word-level tokenizer of 4,101 tokens) to a
 * temp folder.
 */
public final class GenerationBench {
  private static final double MU = Math.log(60); // median 60 tokens
  private static final double SIGMA = 0.9115; // P(X > 500) = 1%: (ln 500 - ln 60) / 2.326
  private static final int MAX_OUT = 1000;
  private static final int CONTEXT = 2048;

  private GenerationBench() {}

  record Work(int[] prompt, int outLen) {}

  record Run(String mode, double seconds, long usefulTokens, int requests, long steps) {
    double tokensPerSecond() {
      return usefulTokens / seconds;
    }
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new java.util.HashMap<>();
    for (String arg : args) {
      String[] kv = arg.split("=", 2);
      a.put(kv[0], kv.length > 1 ? kv[1] : "");
    }
    int requests = Integer.parseInt(a.getOrDefault("requests", "192"));
    int slots = Integer.parseInt(a.getOrDefault("slots", "16"));
    int rounds = Integer.parseInt(a.getOrDefault("rounds", "3"));
    int threads = Integer.parseInt(a.getOrDefault("threads", "2"));
    long seed = Long.parseLong(a.getOrDefault("seed", "7"));
    String device = a.getOrDefault("device", "cpu");
    int hidden = Integer.parseInt(a.getOrDefault("hidden", "768"));
    int layers = Integer.parseInt(a.getOrDefault("layers", "4"));

    Path dir = Files.createTempDirectory("llm-batch-bench");
    FlavorFixtures.deleteTreeOnExit(dir); // the checkpoint is hundreds of MB
    List<String> words = new ArrayList<>();
    for (int i = 0; i < 4096; i++) {
      words.add("w" + i);
    }
    int vocab = SampleTokenizers.writeWordLevel(dir, words, SampleTokenizers.CHATML_TEMPLATE);
    SampleModels.writeLlama(dir, new SampleModels.LlamaSizes(vocab, hidden, layers,
        hidden / 64, Math.max(1, hidden / 256), hidden * 8 / 3), DType.F32,
        seed);
    Path config = dir.resolve("config.json");
    String json = Files.readString(config);
    String from = "\"max_position_embeddings\" : 256";
    if (!json.contains(from)) {
      throw new IllegalStateException("Cannot widen the bench model's context: " + config);
    }
    Files.writeString(config, json.replace(from, "\"max_position_embeddings\" : " + CONTEXT));

    TorchRuntime.engine(threads);
    List<Work> work = workload(requests, vocab, seed);
    try (CausalLm model = Architectures.loadCausalLm(dir, new LoadOptions(device,
            device.equals("cpu") ? ComputeDtype.FP32 : ComputeDtype.FP16, threads));
        TextTokenizer tokenizer = TextTokenizer.load(dir)) {
      long useful = work.stream().mapToLong(Work::outLen).sum();
      long staticSlotSteps = 0;
      for (int b = 0; b < work.size(); b += slots) {
        List<Work> batch = work.subList(b, Math.min(work.size(), b + slots));
        staticSlotSteps += (long) batch.size() * batch.stream().mapToInt(Work::outLen).max()
            .orElse(0);
      }
      double ideal = (double) staticSlotSteps / useful;
      int[] lens = work.stream().mapToInt(Work::outLen).sorted().toArray();
      System.out.printf(Locale.ROOT, "machine: %d cores, %s, Java %s, DJL PyTorch %s, %d threads,"
          + " %s FP32%n", Runtime.getRuntime().availableProcessors(), System.getProperty("os.arch"),
          System.getProperty("java.version"), TorchRuntime.engine().getVersion(), threads, device);
      System.out.printf(Locale.ROOT, "model: random Llama hidden %d, %d layers, vocab %d, %.1fM"
          + " params; workload: %d requests, %d slots, output median %d, p99 %d, max %d, mean"
          + " %.1f, %.1f%% over 500%n", hidden, layers, vocab, model.spec().parameters() / 1e6, requests, slots,
          lens[lens.length / 2], lens[(int) (lens.length * 0.99)], lens[lens.length - 1],
          useful / (double) requests,
          100.0 * Arrays.stream(lens).filter(l -> l > 500).count() / lens.length);

      // warm-up: one untimed run of each mode over the whole workload, so the timed rounds meet
      // nothing for the first time (short warm-up passes left the JIT compiling, and the KV
      // cache's deep positions untouched, inside round 0, whose continuous run then read 8-20%
      // slower than round 1's)
      run(model, tokenizer, work, slots, true);
      run(model, tokenizer, work, slots, false);
      List<Run> cont = new ArrayList<>();
      List<Run> stat = new ArrayList<>();
      for (int r = 0; r < rounds; r++) {
        boolean contFirst = r % 2 == 0;
        for (int k = 0; k < 2; k++) {
          boolean continuous = (k == 0) == contFirst;
          Run run = run(model, tokenizer, work, slots, continuous);
          (continuous ? cont : stat).add(run);
          System.out.printf(Locale.ROOT, "round %d %-10s %7.1f s  %6.2f req/s  %8.1f tok/s  %d"
              + " steps%n", r, run.mode, run.seconds, run.requests / run.seconds,
              run.tokensPerSecond(), run.steps);
        }
      }
      double c = median(cont);
      double s = median(stat);
      System.out.printf(Locale.ROOT, "continuous %.1f tok/s, static %.1f tok/s (medians):"
          + " measured ratio %.2fx, ideal ratio %.2fx (static slot-steps %d / useful %d),"
          + " %.0f%% of ideal%n", c, s, c / s, ideal, staticSlotSteps, useful,
          100 * (c / s) / ideal);
    }
  }

  static List<Work> workload(int n, int vocab, long seed) {
    Random rnd = new Random(seed);
    List<Work> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int promptLen = 16 + rnd.nextInt(49);
      int[] prompt = new int[promptLen];
      for (int j = 0; j < promptLen; j++) {
        prompt[j] = 5 + rnd.nextInt(vocab - 5);
      }
      int len = (int) Math.round(Math.exp(MU + SIGMA * rnd.nextGaussian()));
      out.add(new Work(prompt, Math.max(1, Math.min(MAX_OUT, len))));
    }
    return out;
  }

  static Run run(CausalLm model, TextTokenizer tokenizer, List<Work> work, int slots,
      boolean continuous) throws Exception {
    SchedulerConfig cfg = new SchedulerConfig(slots, CONTEXT, 512, (long) slots * CONTEXT);
    long useful = work.stream().mapToLong(Work::outLen).sum();
    try (GenerationEngine e = new GenerationEngine(model, DecodedText.factory(tokenizer), cfg,
        work.size(), "bench")) {
      long t0 = System.nanoTime();
      if (continuous) {
        List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
        for (Work w : work) {
          fs.add(e.submit(request(w.prompt, w.outLen)));
        }
        check(fs, work, false);
      } else {
        for (int b = 0; b < work.size(); b += slots) {
          List<Work> batch = work.subList(b, Math.min(work.size(), b + slots));
          int longest = batch.stream().mapToInt(Work::outLen).max().orElse(1);
          List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
          for (Work w : batch) {
            fs.add(e.submit(request(w.prompt, longest))); // the row computes until the longest ends
          }
          check(fs, batch, true);
        }
      }
      double secs = (System.nanoTime() - t0) / 1e9;
      return new Run(continuous ? "continuous" : "static", secs, useful, work.size(),
          e.stats().steps());
    }
  }

  private static GenerationRequest request(int[] prompt, int maxTokens) {
    return new GenerationRequest(prompt, SamplingParams.greedy(maxTokens).withIgnoreEos(true),
        new int[] {2, 3});
  }

  private static void check(List<CompletableFuture<GenerationResult>> fs, List<Work> work,
      boolean padded) throws Exception {
    for (int i = 0; i < fs.size(); i++) {
      GenerationResult r = fs.get(i).get();
      int expected = padded ? r.completionTokens() : work.get(i).outLen;
      if (r.completionTokens() != expected) {
        throw new IllegalStateException("request " + i + " generated " + r.completionTokens()
            + " tokens, expected " + expected);
      }
    }
  }

  private static double median(List<Run> runs) {
    double[] v = runs.stream().mapToDouble(Run::tokensPerSecond).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
}
