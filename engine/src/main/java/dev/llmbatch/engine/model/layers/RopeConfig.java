package dev.llmbatch.engine.model.layers;

import dev.llmbatch.engine.EngineException;

/**
 * Rotary position embedding settings, as HF's {@code ROPE_INIT_FUNCTIONS} read them from
 * config.json ({@code rope_theta}, {@code rope_scaling}, {@code partial_rotary_factor}).
 *
 * @param theta {@code rope_theta}
 * @param rotaryDim dims of each head that rotate (head_dim × partial_rotary_factor), even
 * @param type {@code rope_scaling.rope_type} (or the old key {@code type})
 * @param factor {@code rope_scaling.factor} (1 when unscaled)
 * @param lowFreqFactor llama3 {@code low_freq_factor}
 * @param highFreqFactor llama3 {@code high_freq_factor}
 * @param originalMaxPositions llama3 {@code original_max_position_embeddings}; for dynamic NTK the
 *     model's {@code max_position_embeddings}
 */
public record RopeConfig(double theta, int rotaryDim, Type type, double factor,
    double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {

  /** The rope types HF defines that this engine computes exactly. */
  public enum Type { DEFAULT, LINEAR, DYNAMIC, LLAMA3 }

  public RopeConfig {
    if (theta <= 0 || rotaryDim <= 0 || rotaryDim % 2 != 0 || factor <= 0) {
      throw new EngineException("Invalid rope config: theta=" + theta + ", rotary dim=" + rotaryDim
          + ", factor=" + factor + " (theta and factor must be positive, the rotary dim even)");
    }
    if (type == Type.LLAMA3 && (highFreqFactor <= lowFreqFactor || originalMaxPositions <= 0)) {
      throw new EngineException("Invalid rope_scaling for llama3: low_freq_factor=" + lowFreqFactor
          + ", high_freq_factor=" + highFreqFactor + ", original_max_position_embeddings="
          + originalMaxPositions + " (need high > low and a positive original length)");
    }
  }

  /** Unscaled rope. */
  public static RopeConfig plain(double theta, int rotaryDim) {
    return new RopeConfig(theta, rotaryDim, Type.DEFAULT, 1, 0, 0, 0);
  }

  /**
   * {@code inv_freq} as HF computes it in float32 for a forward whose longest sequence is {@code
   * seqLen} tokens (only dynamic NTK depends on it).
   */
  /**
   * Whether {@link #invFreq} at {@code seqLen} differs from the base frequencies ({@code
   * invFreq(0)}): dynamic NTK past the trained length.
   */
  public boolean rescales(int seqLen) {
    return type == Type.DYNAMIC && seqLen > originalMaxPositions;
  }

  public float[] invFreq(int seqLen) {
    double base = theta;
    if (type == Type.DYNAMIC && seqLen > originalMaxPositions) {
      // _compute_dynamic_ntk_parameters: base grows once the sequence outruns the trained length
      base = theta * Math.pow(factor * seqLen / originalMaxPositions - (factor - 1),
          rotaryDim / (double) (rotaryDim - 2));
    }
    int half = rotaryDim / 2;
    float[] inv = new float[half];
    for (int i = 0; i < half; i++) {
      // torch: 1.0 / (base ** (arange(0, dim, 2).float() / dim)), all float32
      float exponent = (float) (2 * i) / (float) rotaryDim;
      inv[i] = 1.0f / (float) Math.pow((float) base, exponent);
    }
    switch (type) {
      case DEFAULT, DYNAMIC -> { }
      case LINEAR -> {
        for (int i = 0; i < half; i++) {
          inv[i] = inv[i] / (float) factor;
        }
      }
      case LLAMA3 -> llama3(inv);
      default -> throw new IllegalStateException(type.name());
    }
    return inv;
  }

  /** _compute_llama3_parameters: long wavelengths slow down by factor, medium ones blend. */
  private void llama3(float[] inv) {
    float f = (float) factor;
    float low = (float) lowFreqFactor;
    float high = (float) highFreqFactor;
    float old = (float) originalMaxPositions;
    float lowFreqWavelen = old / low;
    float highFreqWavelen = old / high;
    for (int i = 0; i < inv.length; i++) {
      float wavelen = (float) (2 * Math.PI) / inv[i];
      float scaled = wavelen > lowFreqWavelen ? inv[i] / f : inv[i];
      boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
      if (medium) {
        float smooth = (old / wavelen - low) / (high - low);
        scaled = (1 - smooth) * scaled / f + smooth * scaled;
      }
      inv[i] = scaled;
    }
  }
}
