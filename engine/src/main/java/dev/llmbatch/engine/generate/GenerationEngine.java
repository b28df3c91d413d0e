package dev.llmbatch.engine.generate;

import dev.llmbatch.engine.RequestQueue;
import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.KvCache;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.runtime.CpuKernels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives one {@link CausalLm} with one scheduler thread: callers {@link #submit} requests from any
 * thread and get futures; the thread plans a step, runs it, samples, and completes the requests
 * that ended. At most {@code queueCapacity} requests are accepted and unfinished: beyond that
 * {@code submit} blocks (back-pressure). A model failure fails only the requests in that step, with
 * {@code server_error}; {@link #close()} fails what is still pending and stops the thread.
 */
public final class GenerationEngine implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GenerationEngine.class);

  private record Pending(GenerationRequest request, CompletableFuture<GenerationResult> future) {}

  /**
   * Counters since start, for logs and benchmarks.
   *
   * @param steps forward steps run
   * @param tokensFed tokens fed to the model (prefill + decode)
   * @param tokensSampled tokens sampled
   * @param requestsDone requests completed (successfully or not)
   */
  public record Stats(long steps, long tokensFed, long tokensSampled, long requestsDone) {}

  private final CausalLm model;
  private final KvCache cache;
  private final Scheduler scheduler;
  private final RequestQueue<Pending> inbox;
  private final Map<GenerationRequest, CompletableFuture<GenerationResult>> futures =
      new IdentityHashMap<>();
  private final Thread thread;
  private final AtomicLong steps = new AtomicLong();
  private final AtomicLong fed = new AtomicLong();
  private final AtomicLong sampled = new AtomicLong();
  private final AtomicLong done = new AtomicLong();
  // logit rows reused by every step (the scheduler samples from them before the next one),
  // grown to the widest step seen; touched only by the engine thread
  private float[][] logitRows = new float[0][];

  /**
   * Starts the engine thread over {@code model} (not owned: the caller closes it after this).
   *
   * @param name thread name suffix, e.g. the served model name
   */
  public GenerationEngine(CausalLm model, ChoiceText.Factory texts, SchedulerConfig config,
      int queueCapacity, String name) {
    this.inbox = new RequestQueue<>(queueCapacity);
    this.model = model;
    this.cache = model.allocateCache(config.slots(), config.capacity());
    this.scheduler = new Scheduler(config, texts);
    // the sampler's passes over the vocabulary run on the CPU kernels where they load: build or
    // load them now (a GPU model's forward never asks), not inside the first step's draws
    CpuKernels.available();
    this.thread = new Thread(this::loop, "llm-batch-generate-" + name);
    this.thread.setDaemon(true);
    this.thread.start();
    LOG.info("Generation engine {}: {} slots x {} tokens, {} tokens/step, KV cache {} MiB", name,
        config.slots(), config.capacity(), config.maxBatchTokens(), cache.bytes() >> 20);
  }

  /** The scheduler's limits. */
  public SchedulerConfig config() {
    return scheduler.config();
  }

  /** Counters since start. */
  public Stats stats() {
    return new Stats(steps.get(), fed.get(), sampled.get(), done.get());
  }

  /**
   * Submits a request; blocks while {@code queueCapacity} requests are unfinished. A prompt that
   * leaves no room to generate is a failed future with {@code context_length_exceeded}.
   */
  public CompletableFuture<GenerationResult> submit(GenerationRequest request) {
    int capacity = scheduler.config().capacity();
    if (request.promptTokens().length >= capacity) {
      return CompletableFuture.failedFuture(new ApiException(new ApiError(
          ApiError.CONTEXT_LENGTH_EXCEEDED, "This model's maximum context length is " + capacity
              + " tokens, and the prompt has " + request.promptTokens().length
              + " tokens: shorten the prompt")));
    }
    CompletableFuture<GenerationResult> f = new CompletableFuture<>();
    try {
      if (!inbox.offer(new Pending(request, f))) {
        return closedFuture();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CompletableFuture.failedFuture(
          new ApiException(new ApiError(ApiError.SERVER_ERROR, "Interrupted while queueing"), e));
    }
    return f;
  }

  private static CompletableFuture<GenerationResult> closedFuture() {
    return CompletableFuture.failedFuture(new ApiException(new ApiError(ApiError.SERVER_ERROR,
        "Cannot generate: the model was closed")));
  }

  private void loop() {
    try {
      while (!inbox.isClosed()) {
        Pending p = scheduler.hasWork() ? inbox.poll() : inbox.poll(50, TimeUnit.MILLISECONDS);
        while (p != null) {
          accept(p);
          p = inbox.poll();
        }
        if (scheduler.hasWork()) {
          runStep();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Throwable t) {
      LOG.error("Generation engine thread died", t);
      complete(scheduler.failAll(t));
    } finally {
      // a dead thread must not leave submitters waiting forever
      List<Pending> left = inbox.closeAndDrain();
      ApiException shut = new ApiException(new ApiError(ApiError.SERVER_ERROR,
          "Cannot generate: the model was closed before this request finished"));
      complete(scheduler.failAll(shut));
      for (Pending p : left) {
        p.future.completeExceptionally(shut);
        inbox.release();
      }
    }
  }

  private void accept(Pending p) {
    try {
      scheduler.add(p.request);
      futures.put(p.request, p.future);
    } catch (RuntimeException e) {
      p.future.completeExceptionally(ApiException.invalidRequest(e.getMessage()));
      inbox.release();
    }
  }

  private void runStep() {
    Step step = scheduler.plan();
    if (step.isEmpty()) {
      return;
    }
    float[][] logits;
    try {
      logits = forward(step);
    } catch (RuntimeException | Error e) {
      logits = isolateFailure(step, e);
    }
    steps.incrementAndGet();
    fed.addAndGet(step.tokens());
    for (Step.Item i : step.items()) {
      if (i.sample()) {
        sampled.incrementAndGet();
      }
    }
    complete(scheduler.update(step, logits));
  }

  /**
   * Runs a step's forward: decode tokens and prefill chunks in one model call, which packs them
   * without padding (model.layers.PackedStep), so a step reads the weights once.
   */
  private float[][] forward(Step step) {
    List<StepInput> inputs = step.inputs();
    int b = inputs.size();
    if (logitRows.length < b) {
      int vocab = model.spec().vocabSize();
      float[][] grown = Arrays.copyOf(logitRows, b);
      for (int i = logitRows.length; i < b; i++) {
        grown[i] = new float[vocab];
      }
      logitRows = grown;
    }
    return model.step(cache, inputs, b == logitRows.length ? logitRows
        : Arrays.copyOf(logitRows, b));
  }

  /**
   * After a failed step, runs each item alone (a step only writes its own slots' positions, so a
   * rerun is idempotent): the items that fail again fail their requests with server_error, the
   * others keep their logits. One bad request never takes its batch mates down with it.
   */
  private float[][] isolateFailure(Step step, Throwable first) {
    LOG.warn("Model step over {} sequence(s) failed ({}); retrying each alone",
        step.items().size(), first.toString());
    float[][] logits = new float[step.items().size()][];
    List<Step.Item> bad = new ArrayList<>();
    Throwable cause = first;
    for (int i = 0; i < logits.length; i++) {
      Step.Item item = step.items().get(i);
      try {
        logits[i] = model.step(cache, List.of(item.input()))[0];
      } catch (RuntimeException | Error e) {
        bad.add(item);
        cause = e;
      }
    }
    if (!bad.isEmpty()) {
      complete(scheduler.fail(step, bad, new ApiException(new ApiError(ApiError.SERVER_ERROR,
          "Cannot generate: the model failed on this request: " + cause.getMessage()), cause)));
    }
    return logits;
  }

  private void complete(List<Scheduler.Finished> finished) {
    for (Scheduler.Finished f : new ArrayList<>(finished)) {
      CompletableFuture<GenerationResult> fut = futures.remove(f.request());
      if (fut == null) {
        continue;
      }
      done.incrementAndGet();
      inbox.release();
      if (f.error() == null) {
        fut.complete(f.result());
      } else {
        Throwable e = f.error();
        fut.completeExceptionally(e instanceof ApiException ? e : new ApiException(
            new ApiError(ApiError.SERVER_ERROR, "Cannot generate: " + e), e));
      }
    }
  }

  /** Fails unfinished requests with {@code server_error}, stops the thread, frees the KV cache. */
  @Override
  public void close() {
    inbox.close();
    try {
      thread.join(60_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    cache.close();
  }
}
