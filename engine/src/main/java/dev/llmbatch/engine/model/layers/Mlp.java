package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;

/** A decoder layer's feed-forward block. */
public interface Mlp {
  /** (B, T, hidden) → (B, T, hidden). */
  NDArray apply(NDArray x);

  /**
   * {@code residual + apply(x)}, a new array; implementations fold the residual into their last
   * linear ({@link Linear#applyWithResidual}).
   */
  NDArray applyWithResidual(NDArray x, NDArray residual);
}
