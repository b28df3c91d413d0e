package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;

/** A decoder layer's feed-forward block. */
public interface Mlp {
  /** (B, T, hidden) → (B, T, hidden). */
  NDArray apply(NDArray x);
}
