package dev.llmbatch.engine.model;

import java.util.List;

/**
 * A loaded encoder (BERT, RoBERTa, XLM-RoBERTa, MPNet): the plain-Java face used by embeddings
 * serving. Inputs are token id arrays already truncated to {@link EncoderSpec#maxPositions()} and
 * holding their special tokens; a batch is right-padded internally. Pooling and normalisation run
 * on the model's device, so only {@code (B, H)} floats cross back to Java. Not thread-safe: one
 * caller at a time (serving drives it from one thread).
 */
public interface Encoder extends AutoCloseable {
  /** Facts about the model. */
  EncoderSpec spec();

  /**
   * Whether a batch's cost is its real tokens (the encoder packs rows without padding outside
   * attention), so batches should be filled by real tokens rather than padded ones.
   */
  default boolean packsBatches() {
    return false;
  }

  /**
   * Pooled (and, if {@code normalize}, L2-normalised) vectors, one per input in input order, each
   * {@code float[hiddenSize]}. A row's vector never depends on what else shares the batch (up to
   * floating-point summation order).
   */
  float[][] embed(List<int[]> batch, Pooling pooling, boolean normalize);

  /** The last hidden states, per input {@code float[len][hiddenSize]} (real positions only). */
  float[][][] lastHiddenState(List<int[]> batch);

  /** BERT's pooler output ({@code tanh(dense(h_0))}); fails when {@link EncoderSpec#hasPooler()} is false. */
  float[][] poolerOutput(List<int[]> batch);

  @Override
  void close();
}
