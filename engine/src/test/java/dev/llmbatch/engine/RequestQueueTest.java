package dev.llmbatch.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class RequestQueueTest {
  @Test
  void aFullQueueBlocksUntilARequestIsReleased() throws Exception {
    RequestQueue<String> q = new RequestQueue<>(2);
    assertTrue(q.offer("a"));
    assertTrue(q.offer("b"));
    CompletableFuture<Boolean> third = CompletableFuture.supplyAsync(() -> offer(q, "c"));
    assertThrows(TimeoutException.class, () -> third.get(300, TimeUnit.MILLISECONDS));
    assertEquals("a", q.poll());
    q.release();
    assertTrue(third.get(10, TimeUnit.SECONDS));
    assertEquals("b", q.poll(1, TimeUnit.SECONDS));
    assertEquals("c", q.poll());
    assertNull(q.poll());
  }

  @Test
  void closingAdmitsNothingMoreAndHandsBackWhatIsQueued() throws Exception {
    RequestQueue<String> q = new RequestQueue<>(1);
    assertTrue(q.offer("a"));
    CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(() -> offer(q, "b"));
    assertThrows(TimeoutException.class, () -> waiting.get(300, TimeUnit.MILLISECONDS));
    assertEquals(List.of("a"), q.closeAndDrain());
    assertTrue(q.isClosed());
    assertFalse(waiting.get(10, TimeUnit.SECONDS), "a submitter waiting for room is turned away");
    q.release();
    assertFalse(q.offer("c"), "nothing enters once closed, even with room");
    assertNull(q.poll());
  }

  @Test
  void capacityMustBePositive() {
    assertThrows(IllegalArgumentException.class, () -> new RequestQueue<String>(0));
  }

  private static boolean offer(RequestQueue<String> q, String s) {
    try {
      return q.offer(s);
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }
}
