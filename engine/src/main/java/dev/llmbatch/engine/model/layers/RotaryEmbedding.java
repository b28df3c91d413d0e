package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embedding in HF's rotate_half form (GPT-NeoX, non-interleaved): dims i and
 * i + R/2 of the first R dims of each head form a pair. Cos/sin are computed per step in Java for
 * just the positions in the batch (float32 products, as HF's {@code inv_freq @ position_ids}), so no
 * table of max_position_embeddings rows is held and dynamic NTK can rescale per step.
 */
public final class RotaryEmbedding {
  private final RopeConfig config;
  private final int headDim;
  private final long[] splitRotary; // where the rotated part ends (partial rotary)
  private final long[] splitHalf;

  public RotaryEmbedding(RopeConfig config, int headDim) {
    this.config = config;
    this.headDim = headDim;
    this.splitRotary = new long[] {config.rotaryDim()};
    this.splitHalf = new long[] {config.rotaryDim() / 2};
  }

  /** The settings. */
  public RopeConfig config() {
    return config;
  }

  /**
   * {cos, sinSigned}, each (B, T, 1, R), for {@code positions} (B·T, row-major); sinSigned is
   * cat(−sin, sin) so that rotate_half becomes a swap of halves. {@code seqLen} is the longest
   * sequence in the batch (dynamic NTK only).
   */
  public NDArray[] cosSin(NDManager m, int[] positions, int b, int t, int seqLen) {
    float[] inv = config.invFreq(seqLen);
    int half = inv.length;
    int r = 2 * half;
    float[] cos = new float[positions.length * r];
    float[] sin = new float[positions.length * r];
    for (int i = 0; i < positions.length; i++) {
      float p = positions[i];
      int o = i * r;
      for (int j = 0; j < half; j++) {
        float f = inv[j] * p; // float32 product, as HF's matmul in float32
        float c = (float) Math.cos(f);
        float s = (float) Math.sin(f);
        cos[o + j] = c;
        cos[o + half + j] = c;
        sin[o + j] = -s;
        sin[o + half + j] = s;
      }
    }
    Shape shape = new Shape(b, t, 1, r);
    return new NDArray[] {m.create(cos, shape), m.create(sin, shape)};
  }

  /** Rotates {@code x} (B, T, N, D) by {cos, sinSigned} (B, T, 1, R); dims beyond R pass through. */
  public NDArray apply(NDArray x, NDArray cos, NDArray sinSigned) {
    if (config.rotaryDim() == headDim) {
      return rotate(x, cos, sinSigned);
    }
    NDList parts = x.split(splitRotary, 3); // (B, T, N, R), (B, T, N, D − R)
    return rotate(parts.get(0), cos, sinSigned).concat(parts.get(1), 3);
  }

  private NDArray rotate(NDArray x, NDArray cos, NDArray sinSigned) {
    NDList halves = x.split(splitHalf, 3); // 2 × (B, T, N, R/2)
    NDArray swapped = halves.get(1).concat(halves.get(0), 3); // (B, T, N, R)
    return x.mul(cos).addi(swapped.muli(sinSigned)); // x·cos + rotate_half(x)·sin
  }
}
