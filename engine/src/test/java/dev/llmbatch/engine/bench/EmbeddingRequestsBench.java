package dev.llmbatch.engine.bench;

import ai.djl.Device;
import dev.llmbatch.engine.api.EmbeddingRequest;
import dev.llmbatch.engine.api.RequestKey;
import dev.llmbatch.engine.embed.EmbeddingScheduler;
import dev.llmbatch.engine.embed.EmbeddingService;
import dev.llmbatch.engine.embed.PoolingChoice;
import dev.llmbatch.engine.embed.TokenBudgetBatcher;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.encoder.Encoders;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.runtime.TorchRuntime;
import dev.llmbatch.engine.serve.LoadedModel;
import dev.llmbatch.engine.serve.ServeOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Many one-input embedding requests from several submitter threads (as Spark task threads send
 * one request per row): (A) each request runs alone, one at a time, as LoadedModel did before
 * the scheduler; (B) through {@link LoadedModel#embed}, whose scheduler thread packs the queued
 * requests into shared forwards. Alternates A B A B on one loaded model; prints requests/s, rows
 * per forward and the ratio. Run: {@code submit-scripts/bench embeddingRequests [requests=512]
 * [submitters=4] [rounds=3]} (needs the shared bert-tiny reference flavor; property
 * {@code llmbatch.shared.dir}, default ../shared).
 */
public final class EmbeddingRequestsBench {
  private EmbeddingRequestsBench() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 512;
    int submitters = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    int threads = Integer.getInteger("threads", Runtime.getRuntime().availableProcessors());
    Path flavor = Path.of(System.getProperty("llmbatch.shared.dir", "../shared"),
        "reference/bert-tiny/mlflow");
    TorchRuntime.engine(threads);
    Random rnd = new Random(7);
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      texts.add("request " + i + " " + "some words of a sentence ".repeat(1 + rnd.nextInt(12)));
    }
    System.out.printf("machine: %d cores, engine threads %d, libtorch %s, FP32; bert-tiny,"
        + " %d one-input requests from %d submitters%n", Runtime.getRuntime().availableProcessors(),
        threads, TorchRuntime.engine().getVersion(), n, submitters);
    try (LoadedModel m = LoadedModel.load(flavor, ServeOptions.DEFAULTS.withDevice("cpu", threads));
        Encoder encoder = Encoders.load(flavor.resolve("model"), Device.cpu(), ComputeDtype.FP32)) {
      // the same weights and batcher, driven one request at a time
      EmbeddingService alone = EmbeddingService.create(encoder, t -> m.tokenizer().encode(t, true),
          flavor.resolve("model"), PoolingChoice.Overrides.NONE, new TokenBudgetBatcher(
              EmbeddingService.DEFAULT_TOKEN_BUDGET, EmbeddingService.DEFAULT_MAX_ROWS));
      double sumA = 0;
      double sumB = 0;
      for (int r = 0; r < rounds; r++) {
        double a = run(texts, submitters, t -> {
          synchronized (alone) {
            alone.embed(List.of(t), null);
          }
          return CompletableFuture.completedFuture(null);
        });
        EmbeddingScheduler.Stats before = m.embeddingStats();
        double b = run(texts, submitters,
            t -> m.embed(EmbeddingRequest.of(List.of(t)), RequestKey.of(t)));
        EmbeddingScheduler.Stats after = m.embeddingStats();
        long forwards = after.forwards() - before.forwards();
        System.out.printf("round %d: alone %.0f req/s, scheduler %.0f req/s (%d forwards, %.1f"
            + " rows/forward), ratio %.2f%n", r, a, b, forwards, (double) n / forwards, b / a);
        if (r > 0 || rounds == 1) {
          sumA += a;
          sumB += b;
        }
      }
      System.out.printf("scheduler / alone (rounds after the first): %.2f%n", sumB / sumA);
    }
  }

  private interface Submit {
    CompletableFuture<?> call(String text) throws Exception;
  }

  /** Requests per second with {@code submitters} threads each sending and awaiting its share. */
  private static double run(List<String> texts, int submitters, Submit submit) throws Exception {
    AtomicInteger next = new AtomicInteger();
    List<Thread> ts = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int s = 0; s < submitters; s++) {
      Thread t = new Thread(() -> {
        // each submitter keeps up to 16 requests in flight, as a task's window does
        List<CompletableFuture<?>> window = new ArrayList<>();
        try {
          for (int i; (i = next.getAndIncrement()) < texts.size(); ) {
            window.add(submit.call(texts.get(i)));
            if (window.size() == 16) {
              for (CompletableFuture<?> f : window) {
                f.get();
              }
              window.clear();
            }
          }
          for (CompletableFuture<?> f : window) {
            f.get();
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      ts.add(t);
      t.start();
    }
    for (Thread t : ts) {
      t.join();
    }
    return texts.size() / ((System.nanoTime() - t0) / 1e9);
  }
}
