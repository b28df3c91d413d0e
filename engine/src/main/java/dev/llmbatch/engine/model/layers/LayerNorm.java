package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** LayerNorm with weight and bias over the last axis (GPT-2's ln_1, ln_2, ln_f). */
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
  public NDArray apply(NDArray x) {
    return x.getNDArrayInternal().layerNorm(x, normalized, weight, bias, eps).singletonOrThrow();
  }
}
