package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** RMSNorm: {@code x * rsqrt(mean(x²) + eps) * w}, as HF's LlamaRMSNorm. */
public final class RmsNorm implements Norm {
  private static final int[] LAST = {-1};
  private final NDArray weight; // (N), or null once folded into the next linear
  private final float eps;

  /**
   * {@code weight} (N) is the effective scale (Gemma's 1 + w already added); null when it has been
   * folded into the linear this norm feeds (see {@link Linear#scaledInputs}).
   */
  public RmsNorm(NDArray weight, float eps) {
    this.weight = weight;
    this.eps = eps;
  }

  @Override
  public NDArray apply(NDArray x) {
    if (x.getDataType() != DataType.FLOAT32) {
      // FP16 on GPU: normalize in float32 as HF does, then scale in the compute dtype
      NDArray xf = x.toType(DataType.FLOAT32, false);
      NDArray y = normalize(xf).toType(x.getDataType(), false);
      return weight == null ? y : y.muli(weight);
    }
    NDArray y = normalize(x); // (…, N)
    return weight == null ? y : y.muli(weight);
  }

  /** The effective scale (N), or null once folded away. */
  public NDArray weight() {
    return weight;
  }

  /** This norm without its scale (the caller folds it into the next linear): one op less a call. */
  public RmsNorm unweighted() {
    return new RmsNorm(null, eps);
  }

  /** This norm with its scale multiplied by {@code s} (attention's 1/√d folded into q_norm). */
  public RmsNorm scaled(float s) {
    return new RmsNorm(weight == null ? null : weight.mul(s), eps);
  }

  private NDArray normalize(NDArray x) {
    NDArray inv = x.square().mean(LAST, true).addi(eps).pow(-0.5f); // (…, 1)
    return x.mul(inv);
  }
}
