package dev.llmbatch.udf.metrics;

import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.util.AccumulatorV2;

/**
 * A Spark accumulator keeping the largest value seen per key: for gauges that executors report
 * as running totals (an executor's embedding forwards since its model loaded), where the last
 * report is the largest and summing the reports would count the same work many times.
 */
public final class MaxByKeyAccumulator
    extends AccumulatorV2<Map.Entry<String, Long>, Map<String, Long>> {
  private static final long serialVersionUID = 1L;
  private final TreeMap<String, Long> max = new TreeMap<>();

  @Override
  public synchronized boolean isZero() {
    return max.isEmpty();
  }

  @Override
  public synchronized MaxByKeyAccumulator copy() {
    MaxByKeyAccumulator c = new MaxByKeyAccumulator();
    c.max.putAll(max);
    return c;
  }

  @Override
  public synchronized void reset() {
    max.clear();
  }

  @Override
  public void add(Map.Entry<String, Long> v) {
    add(v.getKey(), v.getValue());
  }

  /** Keeps {@code value} for {@code key} if it is the largest so far. */
  public synchronized void add(String key, long value) {
    max.merge(key, value, Math::max);
  }

  @Override
  public void merge(AccumulatorV2<Map.Entry<String, Long>, Map<String, Long>> other) {
    Map<String, Long> theirs = other.value();
    synchronized (this) {
      theirs.forEach((k, v) -> max.merge(k, v, Math::max));
    }
  }

  /** A sorted copy. */
  @Override
  public synchronized Map<String, Long> value() {
    return new TreeMap<>(max);
  }
}
