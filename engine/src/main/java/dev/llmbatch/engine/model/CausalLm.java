package dev.llmbatch.engine.model;

import java.util.List;

/**
 * A loaded decoder-only language model: the plain-Java face of an architecture. Not thread-safe: one
 * scheduler thread drives it.
 */
public interface CausalLm extends AutoCloseable {
  /** Facts about the model. */
  DecoderSpec spec();

  /** Allocates a cache of {@code slots} sequences of up to {@code capacity} tokens each. */
  KvCache allocateCache(int slots, int capacity);

  /**
   * One forward pass over a ragged batch. Each input appends its tokens to its slot (positions
   * {@code startPos ..}) and attends to everything its slot holds before them plus its own earlier
   * new tokens (causal). Returns, per input and in input order, the logits at its last new token
   * ({@code float[vocabSize]}). Inputs must name distinct slots. A sequence's logits never depend
   * on what else shares the batch (up to floating-point summation order).
   */
  float[][] step(KvCache cache, List<StepInput> inputs);

  /**
   * {@link #step(KvCache, List)} writing input i's logits into {@code rows[i]} ({@code
   * float[vocabSize]} each, {@code rows.length == inputs.size()}) instead of fresh arrays; returns
   * {@code rows}. For a loop that is done with a step's logits before the next one: reusing its rows
   * spares the Java heap a fresh {@code float[B][V]} a step (4 MB at 32 rows of a 32K vocabulary,
   * which a large young generation keeps meeting as never-touched memory, a page fault per page).
   */
  float[][] step(KvCache cache, List<StepInput> inputs, float[][] rows);

  @Override
  void close();
}
