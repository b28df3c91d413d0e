package dev.llmbatch.engine.embed;

import dev.llmbatch.engine.RequestQueue;
import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Batches embeddings across requests: callers on any thread {@link #submit} a request's inputs
 * and get a future; one scheduler thread per model takes whatever is queued (up to
 * {@link #roundRows()} inputs, never splitting a request), tokenises it, runs all of it through
 * the {@link EmbeddingService} as one set of length-sorted token-budget forwards, and completes
 * each request with exactly its rows in its input order. So the rows of many small requests (one
 * per Spark row, from several task threads) share forwards instead of running one by one.
 *
 * <p>At most {@code queueCapacity} requests are accepted and unfinished: beyond that
 * {@link #submit} blocks (back-pressure; nothing is dropped). {@link #close()} lets the round in
 * progress finish, fails every request still queued with {@code server_error}, and stops the
 * thread: no future is ever left hanging.
 */
public final class EmbeddingScheduler implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddingScheduler.class);

  /**
   * Counters since start.
   *
   * @param requests requests completed (served or failed)
   * @param rows inputs completed, over all requests
   * @param rounds times the thread drained the queue
   * @param forwards encoder forwards run
   * @param maxRowsPerForward most inputs one forward held
   * @param maxRequestsPerForward most distinct requests whose inputs shared one forward
   * @param realTokens tokens fed, summed over rows
   * @param paddedTokens tokens computed including padding
   */
  public record Stats(long requests, long rows, long rounds, long forwards, long maxRowsPerForward,
      long maxRequestsPerForward, long realTokens, long paddedTokens) {
    /** Mean inputs per forward. */
    public double rowsPerForward() {
      return forwards == 0 ? 0 : (double) rows / forwards;
    }
  }

  /**
   * How long a round may wait to fill up, as dynamic batchers do (Triton's
   * {@code max_queue_delay}): once a request arrives, the thread waits until at least
   * {@code minRows} inputs are queued or {@code maxWaitMillis} have passed, whichever is first.
   * The default takes what is queued at once: the right choice when throughput comes from many
   * concurrent submitters anyway; waiting helps a GPU fed by a few slow submitters.
   *
   * @param minRows inputs a round waits for (1 = never wait)
   * @param maxWaitMillis the longest a round waits for them
   */
  public record Batching(int minRows, long maxWaitMillis) {
    /** Never wait. */
    public static final Batching NONE = new Batching(1, 0);

    public Batching {
      if (minRows < 1 || maxWaitMillis < 0) {
        throw new IllegalArgumentException("Invalid embeddings batching: minRows " + minRows
            + " must be at least 1 and maxWaitMillis " + maxWaitMillis + " not negative");
      }
    }
  }

  private record Pending(List<EmbeddingService.Item> items,
      CompletableFuture<List<EmbeddingService.Row>> future) {}

  private final EmbeddingService service;
  private final int roundRows;
  private final Batching batching;
  private final RequestQueue<Pending> inbox;
  private final Thread thread;
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong rows = new AtomicLong();
  private final AtomicLong rounds = new AtomicLong();
  private final AtomicLong forwards = new AtomicLong();
  private final AtomicLong maxRows = new AtomicLong();
  private final AtomicLong maxRequests = new AtomicLong();
  private final AtomicLong real = new AtomicLong();
  private final AtomicLong padded = new AtomicLong();

  /**
   * Starts the scheduler thread over {@code service} (not owned: the caller closes its encoder
   * after closing this).
   *
   * @param queueCapacity most requests accepted and unfinished
   * @param name thread name suffix, e.g. the served model name
   */
  public EmbeddingScheduler(EmbeddingService service, int queueCapacity, String name) {
    this(service, queueCapacity, Batching.NONE, name);
  }

  /**
   * Starts the scheduler thread with a {@link Batching} policy.
   *
   * @param queueCapacity most requests accepted and unfinished
   * @param name thread name suffix, e.g. the served model name
   */
  public EmbeddingScheduler(EmbeddingService service, int queueCapacity, Batching batching,
      String name) {
    this.inbox = new RequestQueue<>(queueCapacity);
    this.service = service;
    // A few forwards' worth per round: enough to sort lengths well, small enough that the first
    // requests of a long queue complete early.
    this.roundRows = 4 * service.batcher().maxRows();
    this.batching = batching == null ? Batching.NONE : batching;
    this.thread = new Thread(this::loop, "llm-batch-embed-" + name);
    this.thread.setDaemon(true);
    this.thread.start();
  }

  /** Most inputs one round takes from the queue (a larger single request is taken whole). */
  public int roundRows() {
    return roundRows;
  }

  /** Counters since start. */
  public Stats stats() {
    return new Stats(requests.get(), rows.get(), rounds.get(), forwards.get(), maxRows.get(),
        maxRequests.get(), real.get(), padded.get());
  }

  /**
   * Submits one request's inputs; blocks while {@code queueCapacity} requests are unfinished. The
   * future holds one row per input, in input order; a row that could not be served carries its
   * error (the caller decides what that means for the request). After {@link #close()}, a failed
   * future with {@code server_error}.
   */
  public CompletableFuture<List<EmbeddingService.Row>> submit(List<EmbeddingService.Item> items) {
    CompletableFuture<List<EmbeddingService.Row>> f = new CompletableFuture<>();
    if (items.isEmpty()) {
      f.complete(List.of());
      return f;
    }
    try {
      if (!inbox.offer(new Pending(List.copyOf(items), f))) {
        return closedFuture();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CompletableFuture.failedFuture(new ApiException(new ApiError(ApiError.SERVER_ERROR,
          "Cannot embed: interrupted while waiting for room in the queue"), e));
    }
    return f;
  }

  private static <T> CompletableFuture<T> closedFuture() {
    return CompletableFuture.failedFuture(new ApiException(new ApiError(ApiError.SERVER_ERROR,
        "Cannot embed: the model was closed")));
  }

  private void loop() {
    try {
      while (!inbox.isClosed()) {
        Pending first = inbox.poll(50, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        runRound(gather(first));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Throwable t) {
      LOG.error("Embedding scheduler thread died", t);
    } finally {
      ApiException shut = new ApiException(new ApiError(ApiError.SERVER_ERROR,
          "Cannot embed: the model was closed before this request ran"));
      for (Pending p : inbox.closeAndDrain()) {
        finish(p, null, shut);
      }
    }
  }

  /** The round that starts with {@code first}: what is queued, waiting as {@link Batching} says. */
  private List<Pending> gather(Pending first) throws InterruptedException {
    List<Pending> round = new ArrayList<>();
    round.add(first);
    int n = first.items().size();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(batching.maxWaitMillis());
    while (n < roundRows) {
      Pending p = inbox.poll();
      if (p == null) {
        long left = deadline - System.nanoTime();
        if (n >= batching.minRows() || left <= 0 || inbox.isClosed()) {
          break;
        }
        // short slices: close() must not wait out a long batching delay
        p = inbox.poll(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)), TimeUnit.NANOSECONDS);
        if (p == null) {
          continue;
        }
      }
      round.add(p);
      n += p.items().size();
    }
    return round;
  }

  /** Tokenises and embeds every input of {@code round} together, then completes each request. */
  private void runRound(List<Pending> round) {
    List<EmbeddingService.Item> items = new ArrayList<>();
    List<Integer> indexes = new ArrayList<>(); // each item's index in its own request
    List<Integer> owner = new ArrayList<>();
    EmbeddingService.Result result;
    try {
      for (int r = 0; r < round.size(); r++) {
        List<EmbeddingService.Item> own = round.get(r).items();
        for (int i = 0; i < own.size(); i++) {
          items.add(own.get(i));
          indexes.add(i);
          owner.add(r);
        }
      }
      result = service.run(service.prepareAll(items,
          indexes.stream().mapToInt(Integer::intValue).toArray()));
    } catch (RuntimeException | Error e) {
      LOG.warn("Embedding round of {} request(s) failed", round.size(), e);
      ApiException err = new ApiException(new ApiError(ApiError.SERVER_ERROR,
          "Cannot embed: " + e), e);
      round.forEach(p -> finish(p, null, err));
      return;
    }
    rounds.incrementAndGet();
    forwards.addAndGet(result.forwards().size());
    real.addAndGet(result.stats().realTokens());
    padded.addAndGet(result.stats().paddedTokens());
    for (int[] members : result.forwards()) {
      maxRows.accumulateAndGet(members.length, Math::max);
      maxRequests.accumulateAndGet(
          Arrays.stream(members).map(owner::get).distinct().count(), Math::max);
    }
    int at = 0;
    for (Pending p : round) {
      int size = p.items().size();
      finish(p, List.copyOf(result.rows().subList(at, at + size)), null);
      at += size;
    }
  }

  private void finish(Pending p, List<EmbeddingService.Row> out, Throwable error) {
    requests.incrementAndGet();
    rows.addAndGet(p.items().size());
    inbox.release();
    if (error == null) {
      p.future().complete(out);
    } else {
      p.future().completeExceptionally(error);
    }
  }

  /**
   * Lets the round in progress finish, fails the queued requests with {@code server_error}, and
   * stops the thread. Submitting afterwards gives a failed future.
   */
  @Override
  public void close() {
    inbox.close();
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join(60_000);
        if (thread.isAlive()) {
          LOG.warn("Still waiting for the embedding round in progress on {}", thread.getName());
        }
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
