package dev.llmbatch.jobs.summary;

import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.util.AccumulatorV2;

/** Counts per string key (error codes, model names): a Spark accumulator merged at task end. */
public final class CountsAccumulator extends AccumulatorV2<String, Map<String, Long>> {
  private static final long serialVersionUID = 1L;
  private final TreeMap<String, Long> counts = new TreeMap<>();

  @Override
  public boolean isZero() {
    return counts.isEmpty();
  }

  @Override
  public CountsAccumulator copy() {
    CountsAccumulator c = new CountsAccumulator();
    c.counts.putAll(counts);
    return c;
  }

  @Override
  public void reset() {
    counts.clear();
  }

  @Override
  public void add(String key) {
    add(key, 1);
  }

  /** Adds {@code n} to {@code key}. */
  public void add(String key, long n) {
    counts.merge(key, n, Long::sum);
  }

  @Override
  public void merge(AccumulatorV2<String, Map<String, Long>> other) {
    other.value().forEach(this::add);
  }

  @Override
  public Map<String, Long> value() {
    return new TreeMap<>(counts);
  }
}
