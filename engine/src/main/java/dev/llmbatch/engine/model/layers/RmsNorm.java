package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;

/** RMSNorm: {@code x * rsqrt(mean(x²) + eps) * w}, as HF's LlamaRMSNorm. */
public final class RmsNorm implements Norm {
  private static final int[] LAST = {-1};
  private final NDArray weight; // (N)
  private final float eps;

  /** {@code weight} (N) is the effective scale (Gemma's 1 + w already added). */
  public RmsNorm(NDArray weight, float eps) {
    this.weight = weight;
    this.eps = eps;
  }

  @Override
  public NDArray apply(NDArray x) {
    NDArray inv = x.square().mean(LAST, true).addi(eps).pow(-0.5f); // (…, 1)
    return x.mul(inv).muli(weight); // (…, N)
  }
}
