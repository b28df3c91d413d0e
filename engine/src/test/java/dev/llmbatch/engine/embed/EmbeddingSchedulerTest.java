package dev.llmbatch.engine.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import dev.llmbatch.engine.model.Encoder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Cross-request batching on the bert-tiny reference encoder. A gate in the tokenizer holds the
 * scheduler thread inside its first round, so the requests submitted meanwhile are certainly
 * queued together: the assertions then hold whatever the machine's speed.
 */
class EmbeddingSchedulerTest {
  private static BertTiny bert;
  private static Path modelDir;
  private static Encoder encoder;

  @BeforeAll
  static void load() {
    bert = BertTiny.load();
    modelDir = bert.modelDir();
    encoder = bert.encoder();
  }

  @AfterAll
  static void close() {
    bert.close();
  }

  private static int[] ids(String text) {
    return bert.ids(text);
  }

  /**
   * The real tokenizer, which once armed holds its first caller until opened. Closing opens it,
   * so a failing test never leaves the scheduler thread (and its close) waiting forever.
   */
  private static final class Gate implements TokenEncoder, AutoCloseable {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch open = new CountDownLatch(1);
    volatile boolean armed;

    @Override
    public int[] encode(String text) {
      if (text.equals(POISON)) {
        return new int[] {101, 1_000_000, 102}; // outside the vocabulary: the forward fails
      }
      if (armed) {
        entered.countDown();
        try {
          open.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return ids(text);
    }

    void awaitEntered() throws InterruptedException {
      if (!entered.await(120, java.util.concurrent.TimeUnit.SECONDS)) {
        throw new IllegalStateException("The scheduler thread never tokenised the first request");
      }
    }

    @Override
    public void close() {
      open.countDown();
    }
  }

  private static EmbeddingService service(Gate gate) {
    EmbeddingService s = EmbeddingService.create(encoder, gate, modelDir,
        PoolingChoice.Overrides.NONE, new TokenBudgetBatcher(4096, 64));
    gate.armed = true;
    return s;
  }

  private static List<EmbeddingService.Item> items(String... texts) {
    List<EmbeddingService.Item> out = new ArrayList<>();
    for (String t : texts) {
      out.add(new EmbeddingService.Item(t, null));
    }
    return out;
  }

  private static String text(int i) {
    // lengths from 3 to ~120 tokens: very different lengths share the queue
    return "request " + i + " " + "several more words in it ".repeat((i * 7) % 23);
  }

  private static double cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }

  private static void awaitBlocked(Thread t) throws InterruptedException {
    while (t.getState() != Thread.State.TIMED_WAITING && t.getState() != Thread.State.WAITING
        && t.getState() != Thread.State.TERMINATED) {
      Thread.sleep(5);
    }
  }

  /** A text the gate tokenises to an id the encoder cannot embed. */
  private static final String POISON = "poison";

  /** One per test (JUnit makes an instance per test); opened at the end of every test. */
  private final Gate gate = new Gate();

  @AfterEach
  void openGate() {
    gate.close();
  }

  @Test
  void requestsFromSeveralThreadsShareForwardsAndGetExactlyTheirRows() throws Exception {
    EmbeddingService service = service(gate);
    int threads = 4;
    int perThread = 20;
    List<List<String>> texts = new ArrayList<>();
    List<CompletableFuture<List<EmbeddingService.Row>>> futures = new ArrayList<>();
    try (EmbeddingScheduler s = new EmbeddingScheduler(service, 1000, "test"); Gate g = gate) {
      CompletableFuture<List<EmbeddingService.Row>> first = s.submit(items("the first one"));
      gate.awaitEntered(); // the thread is inside round 1, holding only the first request
      List<Thread> submitters = new ArrayList<>();
      List<List<CompletableFuture<List<EmbeddingService.Row>>>> perSubmitter = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        List<CompletableFuture<List<EmbeddingService.Row>>> mine = new ArrayList<>();
        List<List<String>> myTexts = new ArrayList<>();
        for (int r = 0; r < perThread; r++) {
          int i = t * perThread + r;
          // every third request carries two inputs: rows must go back to their own request
          myTexts.add(i % 3 == 0 ? List.of(text(i), text(i + 11)) : List.of(text(i)));
        }
        texts.addAll(myTexts);
        perSubmitter.add(mine);
        Thread th = new Thread(() -> {
          for (List<String> in : myTexts) {
            mine.add(s.submit(items(in.toArray(String[]::new))));
          }
        });
        submitters.add(th);
        th.start();
      }
      for (Thread th : submitters) {
        th.join();
      }
      perSubmitter.forEach(futures::addAll);
      gate.open.countDown();
      assertEquals(1, first.get().size());
      int requests = futures.size() + 1;
      for (int k = 0; k < futures.size(); k++) {
        List<String> in = texts.get(k);
        List<EmbeddingService.Row> rows = futures.get(k).get();
        assertEquals(in.size(), rows.size(), "request " + k + " gets exactly its rows");
        for (int j = 0; j < in.size(); j++) {
          EmbeddingService.Row row = rows.get(j);
          assertTrue(row.ok(), row.errorMessage());
          int[] ids = ids(in.get(j));
          assertEquals(ids.length, row.promptTokens(), "exact usage of request " + k);
          // the same text embedded alone, in its own forward
          float[] alone = encoder.embed(List.of(ids), service.choice().pooling(), true)[0];
          assertTrue(cosine(alone, row.embedding()) >= 0.99999,
              "request " + k + " input " + j + ": cosine " + cosine(alone, row.embedding()));
        }
      }
      EmbeddingScheduler.Stats st = s.stats();
      assertEquals(requests, st.requests());
      assertTrue(st.forwards() < requests, "forwards " + st.forwards() + " < requests " + requests);
      assertTrue(st.maxRequestsPerForward() > 1, "a forward held rows of several requests: " + st);
      assertTrue(st.maxRowsPerForward() > 2, st.toString());
      assertEquals(2, st.rounds(), "round 1 (the first request), round 2 (all the others)");
    }
  }

  @Test
  void aRoundWaitsForMinRowsWhenAskedTo() throws Exception {
    gate.close(); // no gate: the batching policy alone groups these
    EmbeddingService service = service(gate);
    try (EmbeddingScheduler s = new EmbeddingScheduler(service, 64,
        new EmbeddingScheduler.Batching(6, 600_000), "test")) {
      List<CompletableFuture<List<EmbeddingService.Row>>> futures = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        futures.add(s.submit(items(text(i), text(i + 5))));
      }
      for (CompletableFuture<List<EmbeddingService.Row>> f : futures) {
        assertEquals(2, f.get().size());
      }
      assertEquals(1, s.stats().rounds(), "one round once 6 inputs were queued");
      assertTrue(s.stats().maxRequestsPerForward() >= 2, s.stats().toString());
    }
  }

  @Test
  void aBadInputFailsOnlyItsOwnRequestAndIsNamedByItsOwnIndex() throws Exception {
    try (EmbeddingScheduler s = new EmbeddingScheduler(service(gate), 16, "test"); Gate g = gate) {
      CompletableFuture<List<EmbeddingService.Row>> a = s.submit(items("warm up"));
      gate.awaitEntered();
      CompletableFuture<List<EmbeddingService.Row>> good = s.submit(items("fine", "also fine"));
      CompletableFuture<List<EmbeddingService.Row>> bad = s.submit(items("fine too", ""));
      CompletableFuture<List<EmbeddingService.Row>> dims = s.submit(
          List.of(new EmbeddingService.Item("too wide", 4096)));
      gate.open.countDown();
      assertTrue(a.get().get(0).ok());
      assertTrue(good.get().stream().allMatch(EmbeddingService.Row::ok));
      List<EmbeddingService.Row> b = bad.get();
      assertTrue(b.get(0).ok());
      assertEquals(ApiError.INVALID_REQUEST, b.get(1).errorCode());
      assertTrue(b.get(1).errorMessage().contains("input[1]"), b.get(1).errorMessage());
      assertNull(b.get(1).embedding());
      assertEquals(ApiError.INVALID_REQUEST, dims.get().get(0).errorCode());
      assertTrue(dims.get().get(0).errorMessage().contains("4096"));
    }
  }

  @Test
  void aForwardThatFailsIsRetriedRowByRowSoOnlyTheBadRequestFails() throws Exception {
    try (EmbeddingScheduler s = new EmbeddingScheduler(service(gate), 16, "test"); Gate g = gate) {
      CompletableFuture<List<EmbeddingService.Row>> a = s.submit(items("warm up"));
      gate.awaitEntered();
      CompletableFuture<List<EmbeddingService.Row>> before = s.submit(items("one", "two"));
      CompletableFuture<List<EmbeddingService.Row>> bad = s.submit(items(POISON));
      CompletableFuture<List<EmbeddingService.Row>> after = s.submit(items("three"));
      gate.open.countDown();
      assertTrue(a.get().get(0).ok());
      assertTrue(before.get().stream().allMatch(EmbeddingService.Row::ok));
      assertTrue(after.get().get(0).ok());
      EmbeddingService.Row row = bad.get().get(0);
      assertEquals(ApiError.SERVER_ERROR, row.errorCode());
      assertTrue(row.errorMessage().startsWith("Cannot embed this input"), row.errorMessage());
      assertTrue(s.stats().maxRequestsPerForward() >= 3,
          "the poisoned input shared its first forward: " + s.stats());
    }
  }

  @Test
  void aFullQueueBlocksTheSubmitterUntilRoomIsMade() throws Exception {
    try (EmbeddingScheduler s = new EmbeddingScheduler(service(gate), 2, "test"); Gate g = gate) {
      CompletableFuture<List<EmbeddingService.Row>> a = s.submit(items("one"));
      gate.awaitEntered();
      CompletableFuture<List<EmbeddingService.Row>> b = s.submit(items("two"));
      AtomicReference<CompletableFuture<List<EmbeddingService.Row>>> c = new AtomicReference<>();
      Thread third = new Thread(() -> c.set(s.submit(items("three"))));
      third.start();
      awaitBlocked(third);
      assertTrue(third.isAlive(), "the third submit waits: two requests are unfinished");
      assertNull(c.get());
      gate.open.countDown();
      third.join();
      for (CompletableFuture<List<EmbeddingService.Row>> f : List.of(a, b, c.get())) {
        assertTrue(f.get().get(0).ok());
      }
      assertEquals(3, s.stats().requests());
    }
  }

  @Test
  void closeFinishesTheRoundInProgressAndFailsEveryQueuedRequest() throws Exception {
    EmbeddingScheduler s = new EmbeddingScheduler(service(gate), 16, "test");
    CompletableFuture<List<EmbeddingService.Row>> running = s.submit(items("in progress"));
    gate.awaitEntered();
    List<CompletableFuture<List<EmbeddingService.Row>>> queued = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      queued.add(s.submit(items("queued " + i)));
    }
    Thread closer = new Thread(s::close);
    closer.start();
    awaitBlocked(closer); // close() has marked the scheduler closed and waits for the round
    gate.open.countDown();
    closer.join();
    assertTrue(running.get().get(0).ok(), "the round in progress completes");
    for (CompletableFuture<List<EmbeddingService.Row>> f : queued) {
      assertTrue(f.isDone());
      ExecutionException e = assertThrows(ExecutionException.class, f::get);
      assertEquals(ApiError.SERVER_ERROR, ApiException.errorOf(e).code());
      assertTrue(ApiException.errorOf(e).message().contains("closed"));
    }
    ExecutionException late = assertThrows(ExecutionException.class,
        () -> s.submit(items("late")).get());
    assertEquals(ApiError.SERVER_ERROR, ApiException.errorOf(late).code());
  }
}
