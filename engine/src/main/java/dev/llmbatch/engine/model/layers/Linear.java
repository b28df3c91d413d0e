package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;

/** {@code y = x·Wᵀ + b}: one libtorch {@code linear} call, bias optional. */
public final class Linear {
  private final NDArray weight; // (out, in)
  private final NDArray bias; // (out) or null

  public Linear(NDArray weight, NDArray bias) {
    this.weight = weight;
    this.bias = bias;
  }

  /** (…, in) → (…, out). */
  public NDArray apply(NDArray x) {
    return x.getNDArrayInternal().linear(x, weight, bias).singletonOrThrow();
  }

  /** The weight (out, in). */
  public NDArray weight() {
    return weight;
  }

  /** The bias (out), or null. */
  public NDArray bias() {
    return bias;
  }

  /** Parameters held (weight and bias). */
  public long parameters() {
    return weight.size() + (bias == null ? 0 : bias.size());
  }
}
