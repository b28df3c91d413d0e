package dev.llmbatch.udf.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class KeyedRegistryTest {
  /** A value that records being closed. */
  static final class Resource implements AutoCloseable {
    final String name;
    volatile boolean closed;

    Resource(String name) {
      this.name = name;
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  @Test
  void concurrentCallersShareOneBuildPerKey() throws Exception {
    KeyedRegistry<ModelKey, Resource> reg = new KeyedRegistry<>();
    ModelKey a = new ModelKey("s3a://b/m", "cpu", "auto");
    ModelKey b = new ModelKey("s3a://b/m", "gpu:0", "auto");
    AtomicInteger builds = new AtomicInteger();
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<KeyedRegistry.Got<Resource>>> got = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      ModelKey k = i % 2 == 0 ? a : b;
      got.add(pool.submit(() -> {
        start.await();
        return reg.get(k, key -> {
          builds.incrementAndGet();
          sleep(50); // a slow load: everyone else must wait for it, not start another
          return new Resource(key.device());
        });
      }));
    }
    start.countDown();
    int builtNow = 0;
    for (var f : got) {
      builtNow += f.get().built() ? 1 : 0;
    }
    pool.shutdown();
    assertEquals(2, builds.get());
    assertEquals(2, builtNow, "exactly one caller per key reports the load");
    assertEquals(1, reg.builds(a));
    assertEquals(1, reg.builds(b));
    assertSame(got.get(0).get().value(), got.get(2).get().value());
  }

  @Test
  void failedBuildsAreRetriedAndCloseAllReleases() {
    KeyedRegistry<ModelKey, Resource> reg = new KeyedRegistry<>();
    ModelKey k = new ModelKey("file:/m", "cpu", "auto");
    assertThrows(IllegalStateException.class, () -> reg.get(k, key -> {
      throw new IllegalStateException("storage hiccup");
    }));
    Resource r = reg.get(k, key -> new Resource("m")).value();
    assertEquals(1, reg.builds(k));
    reg.closeAll();
    assertTrue(r.closed);
    assertTrue(reg.keys().isEmpty());
    assertTrue(reg.get(k, key -> new Resource("again")).built(), "released values load again");
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
