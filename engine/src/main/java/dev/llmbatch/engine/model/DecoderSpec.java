package dev.llmbatch.engine.model;

/**
 * What generation needs to know about a loaded causal LM.
 *
 * @param architecture e.g. {@code LlamaForCausalLM}
 * @param modelType config.json {@code model_type}
 * @param vocabSize logits per position
 * @param maxPositions context length (max_position_embeddings, or the sliding-window-free limit)
 * @param numLayers decoder layers
 * @param kvBytesPerToken KV-cache bytes one token costs over all layers, in the compute dtype
 * @param parameters parameter count from the checkpoint
 * @param matmulParameters parameters in matmul weights (embedding table excluded, LM head
 *     included) — the P of FLOP counts
 * @param weightBytes bytes of weights as loaded (the W of the decode roofline)
 * @param computeDtype what the model computes in, e.g. {@code FP32}
 * @param device where it runs, e.g. {@code cpu()} or {@code gpu(0)}
 */
public record DecoderSpec(
    String architecture,
    String modelType,
    int vocabSize,
    int maxPositions,
    int numLayers,
    long kvBytesPerToken,
    long parameters,
    long matmulParameters,
    long weightBytes,
    String computeDtype,
    String device) {}
