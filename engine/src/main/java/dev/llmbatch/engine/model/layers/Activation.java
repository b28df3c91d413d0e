package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import dev.llmbatch.engine.EngineException;

/** MLP activations by their HF {@code hidden_act} names. */
public enum Activation {
  /** {@code silu} / {@code swish}: x·σ(x). */
  SILU,
  /** {@code gelu_pytorch_tanh}, {@code gelu_new}, {@code gelu_fast}: the tanh approximation. */
  GELU_TANH,
  /** {@code gelu}: the exact erf form. */
  GELU;

  private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);

  /** Parses an HF activation name, failing with the supported list. */
  public static Activation of(String hfName) {
    return switch (hfName) {
      case "silu", "swish" -> SILU;
      case "gelu_pytorch_tanh", "gelu_new", "gelu_fast" -> GELU_TANH;
      case "gelu" -> GELU;
      default -> throw new EngineException("Cannot use activation '" + hfName + "' from config.json:"
          + " supported are silu, swish, gelu, gelu_new, gelu_fast, gelu_pytorch_tanh");
    };
  }

  /** Applies the activation elementwise. */
  public NDArray apply(NDArray x) {
    return switch (this) {
      case SILU -> x.mul(x.getNDArrayInternal().sigmoid());
      case GELU -> x.getNDArrayInternal().gelu();
      case GELU_TANH -> {
        // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
        NDArray inner = x.mul(x).muli(0.044715f).addi(1f).muli(x).muli(SQRT_2_OVER_PI);
        yield inner.tanh().addi(1f).muli(x).muli(0.5f);
      }
    };
  }
}
