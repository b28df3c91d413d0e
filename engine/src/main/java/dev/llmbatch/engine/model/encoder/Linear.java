package dev.llmbatch.engine.model.encoder;

import ai.djl.ndarray.NDArray;

/**
 * A dense layer {@code y = x · Wᵀ + b} in PyTorch's layout.
 *
 * @param weight (out, in)
 * @param bias (out)
 */
record Linear(NDArray weight, NDArray bias) {
  /** (…, in) -> (…, out), one fused addmm. */
  NDArray forward(NDArray x) {
    return ai.djl.nn.core.Linear.linear(x, weight, bias).singletonOrThrow();
  }

  /** Parameters in the weight matrix (the bias is not a matmul parameter). */
  long matmulParameters() {
    return weight.getShape().size();
  }
}
