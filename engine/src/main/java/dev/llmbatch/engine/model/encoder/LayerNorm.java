package dev.llmbatch.engine.model.encoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Layer normalisation over the last axis: {@code (x - mean) / sqrt(var + eps) * weight + bias}.
 *
 * @param weight (H)
 * @param bias (H)
 * @param eps layer_norm_eps
 */
record LayerNorm(NDArray weight, NDArray bias, float eps) {
  /** (…, H) -> (…, H), libtorch's fused layer_norm. */
  NDArray forward(NDArray x) {
    return ai.djl.nn.norm.LayerNorm.layerNorm(x, new Shape(weight.getShape().get(0)), weight, bias,
        eps).singletonOrThrow();
  }
}
