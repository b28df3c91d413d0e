package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.llmbatch.engine.runtime.CpuKernels;

/** LayerNorm with weight and bias over the last axis (GPT-2's ln_1, ln_2, ln_f; encoders' norms). */
public final class LayerNorm implements Norm {
  private final NDArray weight; // (N)
  private final NDArray bias; // (N)
  private final float eps;
  private final Shape normalized;

  public LayerNorm(NDArray weight, NDArray bias, float eps) {
    this.weight = weight;
    this.bias = bias;
    this.eps = eps;
    this.normalized = new Shape(weight.getShape().get(0));
  }

  @Override
  public NDArray weight() {
    return weight;
  }

  @Override
  public NDArray bias() {
    return bias;
  }

  @Override
  public float eps() {
    return eps;
  }

  /** On the CPU in float32 one native pass a row ({@link CpuKernels#addLayerNorm}). */
  @Override
  public NDArray apply(NDArray x) {
    if (CpuKernels.serves(x) && CpuKernels.serves(weight)) {
      return CpuKernels.addLayerNorm(x, null, weight, bias, eps);
    }
    return x.getNDArrayInternal().layerNorm(x, normalized, weight, bias, eps).singletonOrThrow();
  }

  /**
   * LayerNorm(x + residual), a new array: on the CPU in float32 the sum and the norm in one pass,
   * else libtorch's add and layer_norm.
   */
  public NDArray applyToSum(NDArray x, NDArray residual) {
    if (CpuKernels.serves(x) && CpuKernels.serves(residual) && CpuKernels.serves(weight)) {
      return CpuKernels.addLayerNorm(x, residual, weight, bias, eps);
    }
    return apply(x.add(residual));
  }
}
