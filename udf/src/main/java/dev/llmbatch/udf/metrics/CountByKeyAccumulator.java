package dev.llmbatch.udf.metrics;

import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.util.AccumulatorV2;

/** A Spark accumulator of counts by key (errors by code, model loads by executor). */
public final class CountByKeyAccumulator extends AccumulatorV2<String, Map<String, Long>> {
  private static final long serialVersionUID = 1L;
  private final TreeMap<String, Long> counts = new TreeMap<>();

  @Override
  public synchronized boolean isZero() {
    return counts.isEmpty();
  }

  @Override
  public synchronized CountByKeyAccumulator copy() {
    CountByKeyAccumulator c = new CountByKeyAccumulator();
    c.counts.putAll(counts);
    return c;
  }

  @Override
  public synchronized void reset() {
    counts.clear();
  }

  @Override
  public synchronized void add(String key) {
    add(key, 1);
  }

  /** Adds {@code n} to {@code key}'s count. */
  public synchronized void add(String key, long n) {
    counts.merge(key, n, Long::sum);
  }

  @Override
  public void merge(AccumulatorV2<String, Map<String, Long>> other) {
    Map<String, Long> theirs = other.value();
    synchronized (this) {
      theirs.forEach((k, v) -> counts.merge(k, v, Long::sum));
    }
  }

  /** A sorted copy of the counts. */
  @Override
  public synchronized Map<String, Long> value() {
    return new TreeMap<>(counts);
  }
}
