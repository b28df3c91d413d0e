package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;

/** A per-token normalization over the last (hidden) axis. */
public interface Norm {
  /** The normalizations decoders use. */
  enum Kind {
    /** {@code x * rsqrt(mean(x²) + eps) * w} (Llama). */
    RMS,
    /** {@code x * rsqrt(mean(x²) + eps) * (1 + w)} (Gemma). */
    RMS_ONE_PLUS,
    /** {@code (x - mean) / sqrt(var + eps) * w + b} (GPT-2). */
    LAYER
  }

  /** Normalizes {@code x} (…, N) over its last axis. */
  NDArray apply(NDArray x);

  /** The gain (N); an RMSNorm's is null once folded into the weights it feeds. */
  NDArray weight();

  /** A LayerNorm's bias (N); null for an RMSNorm. */
  default NDArray bias() {
    return null;
  }

  /** The epsilon added under the square root. */
  float eps();

  /** Builds a norm of {@code kind} from its checkpoint weight (and bias for LayerNorm). */
  static Norm of(Kind kind, NDArray weight, NDArray bias, float eps) {
    return switch (kind) {
      case RMS -> new RmsNorm(weight, eps);
      // (1 + w) once at load instead of at every call
      case RMS_ONE_PLUS -> new RmsNorm(weight.add(1f), eps);
      case LAYER -> new LayerNorm(weight, bias, eps);
    };
  }
}
