package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.llmbatch.engine.runtime.CpuKernels;

/**
 * RMSNorm: {@code x * rsqrt(mean(x²) + eps) * w}, as HF's LlamaRMSNorm. {@code eps} and the
 * exponent −½ are kept as float32 scalar tensors made once at load: DJL turns a Java number operand
 * into a fresh tensor on every call, which cost ~5 µs of a decode step's serial small ops each
 * (libtorch computes the same pow and add either way).
 */
public final class RmsNorm implements Norm {
  private static final int[] LAST = {-1};
  private final NDArray weight; // (N), or null once folded into the next linear
  private final NDArray epsScalar; // float32 0-dim eps
  private final NDArray minusHalf; // float32 0-dim −0.5
  private final float eps; // for the fused CPU kernel

  /**
   * {@code weight} (N) is the effective scale (Gemma's 1 + w already added); its manager and device
   * hold the norm's scalars.
   */
  public RmsNorm(NDArray weight, float eps) {
    this(weight, eps, weight.getManager().create(eps), weight.getManager().create(-0.5f));
  }

  private RmsNorm(NDArray weight, float eps, NDArray epsScalar, NDArray minusHalf) {
    this.weight = weight;
    this.eps = eps;
    this.epsScalar = epsScalar;
    this.minusHalf = minusHalf;
  }

  @Override
  public NDArray apply(NDArray x) {
    if (x.getDataType() != DataType.FLOAT32) {
      // FP16 on GPU: normalize in float32 as HF does, then scale in the compute dtype
      NDArray xf = x.toType(DataType.FLOAT32, false);
      NDArray y = normalize(xf).toType(x.getDataType(), false);
      return weight == null ? y : y.muli(weight);
    }
    if (CpuKernels.serves(x)) {
      return CpuKernels.rmsNorm(x, weight, eps); // one call instead of six ops
    }
    NDArray y = normalize(x); // (…, N)
    return weight == null ? y : y.muli(weight);
  }

  /** The effective scale (N), or null once folded away. */
  @Override
  public NDArray weight() {
    return weight;
  }

  /** The epsilon added to mean(x²). */
  @Override
  public float eps() {
    return eps;
  }

  /** This norm without its scale (the caller folds it into the next linear): one op less a call. */
  public RmsNorm unweighted() {
    return new RmsNorm(null, eps, epsScalar, minusHalf);
  }

  /** This norm with its scale multiplied by {@code s} (attention's 1/√d folded into q_norm). */
  public RmsNorm scaled(float s) {
    return new RmsNorm(weight == null ? null : weight.mul(s), eps, epsScalar, minusHalf);
  }

  private NDArray normalize(NDArray x) {
    NDArray inv = x.square().mean(LAST, true).addi(epsScalar).pow(minusHalf); // (…, 1)
    return x.mul(inv);
  }
}
