package dev.llmbatch.engine.model;

/**
 * What embedding serving needs to know about a loaded encoder.
 *
 * @param architecture e.g. {@code BertModel}
 * @param modelType config.json {@code model_type}, e.g. {@code bert}
 * @param hiddenSize the width of a pooled vector
 * @param numLayers transformer layers
 * @param numHeads attention heads
 * @param maxPositions the longest input the position table allows (already net of any
 *     RoBERTa-style position offset)
 * @param vocabSize token ids accepted are {@code 0 .. vocabSize-1}
 * @param padTokenId the id used to pad batches
 * @param hasPooler whether the checkpoint has BERT's {@code pooler.dense} (tanh) head
 * @param parameters parameter count from the checkpoint
 * @param matmulParameters parameters in matmul weights (embedding tables excluded) — the P of
 *     FLOP counts
 * @param computeDtype what the model computes in, e.g. {@code FP32}
 * @param device where it runs, e.g. {@code cpu()}
 */
public record EncoderSpec(
    String architecture,
    String modelType,
    int hiddenSize,
    int numLayers,
    int numHeads,
    int maxPositions,
    int vocabSize,
    int padTokenId,
    boolean hasPooler,
    long parameters,
    long matmulParameters,
    String computeDtype,
    String device) {

  /**
   * Forward FLOPs for one sequence of {@code tokens} tokens: 2 per matmul parameter per token, plus
   * attention's two {@code (T, T)} matmuls per layer ({@code 4 · T² · H}).
   */
  public double flops(int tokens) {
    return 2.0 * matmulParameters * tokens + 4.0 * numLayers * (double) tokens * tokens * hiddenSize;
  }
}
