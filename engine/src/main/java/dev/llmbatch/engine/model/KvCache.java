package dev.llmbatch.engine.model;

/**
 * Key/value cache for a fixed number of sequence slots, each holding up to {@link #capacity()}
 * tokens. Owned by one {@link CausalLm}; only that model's {@code step} reads or writes it. A slot is
 * reused for a new sequence simply by stepping it again from position 0.
 */
public interface KvCache extends AutoCloseable {
  /** Number of sequence slots. */
  int slots();

  /** Maximum tokens per slot. */
  int capacity();

  /** Bytes of device memory held. */
  long bytes();

  @Override
  void close();
}
