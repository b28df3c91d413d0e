package dev.llmbatch.udf.executor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One lazily built value per key, shared by every thread of the JVM: the first caller builds it
 * under the key's lock while the others wait; a failed build is not cached (the next caller
 * retries, e.g. after a transient storage error). Counts builds per key so tests can prove "once".
 *
 * @param <K> the key (a record)
 * @param <V> the value, closed by {@link #closeAll()}
 */
public final class KeyedRegistry<K, V extends AutoCloseable> {
  private static final Logger LOG = LoggerFactory.getLogger(KeyedRegistry.class);

  private final Map<K, Slot<V>> slots = new ConcurrentHashMap<>();
  private final AtomicInteger totalBuilds = new AtomicInteger();

  private static final class Slot<V> {
    volatile V value;
    final AtomicInteger builds = new AtomicInteger();
  }

  /** What {@link #get} returned, and whether this call built it. */
  public record Got<V>(V value, boolean built) {}

  /** The value for {@code key}, built by {@code builder} on first use. */
  public Got<V> get(K key, Function<? super K, ? extends V> builder) {
    Slot<V> slot = slots.computeIfAbsent(key, k -> new Slot<>());
    V v = slot.value;
    if (v != null) {
      return new Got<>(v, false);
    }
    synchronized (slot) {
      if (slot.value == null) {
        V built = builder.apply(key);
        if (built == null) {
          throw new IllegalStateException("The builder returned null for " + key);
        }
        slot.builds.incrementAndGet();
        totalBuilds.incrementAndGet();
        slot.value = built;
        return new Got<>(built, true);
      }
      return new Got<>(slot.value, false);
    }
  }

  /** How many times the value for {@code key} was built in this JVM. */
  public int builds(K key) {
    Slot<V> s = slots.get(key);
    return s == null ? 0 : s.builds.get();
  }

  /** Builds over all keys. */
  public int totalBuilds() {
    return totalBuilds.get();
  }

  /** The live value of {@code key}, without building it. */
  public java.util.Optional<V> peek(K key) {
    Slot<V> s = slots.get(key);
    return s == null ? java.util.Optional.empty() : java.util.Optional.ofNullable(s.value);
  }

  /** The keys with a live value. */
  public List<K> keys() {
    List<K> out = new ArrayList<>();
    slots.forEach((k, s) -> {
      if (s.value != null) {
        out.add(k);
      }
    });
    return out;
  }

  /** Closes and forgets the value of {@code key}; the next {@link #get} builds it again. */
  public void release(K key) {
    Slot<V> s = slots.get(key);
    if (s == null) {
      return;
    }
    synchronized (s) {
      V v = s.value;
      s.value = null;
      close(key, v);
    }
  }

  /** Closes every value (executor shutdown). */
  public void closeAll() {
    for (K key : new ArrayList<>(slots.keySet())) {
      release(key);
    }
  }

  private static <K> void close(K key, AutoCloseable v) {
    if (v == null) {
      return;
    }
    try {
      v.close();
    } catch (Exception e) {
      LOG.warn("Cannot close {} cleanly: {}", key, e.toString());
    }
  }
}
