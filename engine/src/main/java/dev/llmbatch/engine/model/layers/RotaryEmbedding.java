package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Rotary position embedding in HF's rotate_half form (GPT-NeoX, non-interleaved): dims i and
 * i + R/2 of the first R dims of each head form a pair. Cos/sin rows are computed in Java (float32
 * products, as HF's {@code inv_freq @ position_ids}) for the positions steps use and kept, so no
 * table of max_position_embeddings rows is built up front; where dynamic NTK rescales the
 * frequencies for a step, that step's rows are computed for it alone.
 */
public final class RotaryEmbedding {
  private final RopeConfig config;
  private final int headDim;
  private final long[] splitRotary; // where the rotated part ends (partial rotary)
  private final long[] splitHalf;
  private volatile Table table; // cos/sin rows of the positions seen so far (base frequencies)

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
    int r = config.rotaryDim() / 2 * 2;
    float[] cos = new float[positions.length * r];
    float[] sin = new float[positions.length * r];
    rows(positions, seqLen, cos, sin);
    Shape shape = new Shape(b, t, 1, r);
    return new NDArray[] {m.create(cos, shape), m.create(sin, shape)};
  }

  /**
   * {@link #cosSin}'s rows into direct buffers (native order; {@code positions.length} rows of R
   * each), for a step that makes no libtorch array; returns R.
   */
  public int cosSinInto(int[] positions, int seqLen, FloatBuffer cos, FloatBuffer sinSigned) {
    float[] inv = config.invFreq(seqLen);
    int r = 2 * inv.length;
    Table table = tableFor(inv, maxPosition(positions) + 1);
    float[] c = table == null ? new float[r] : null;
    float[] sn = table == null ? new float[r] : null;
    for (int i = 0; i < positions.length; i++) {
      if (table != null) {
        cos.put(i * r, table.cos, positions[i] * r, r);
        sinSigned.put(i * r, table.sin, positions[i] * r, r);
      } else {
        fill(inv, positions[i], c, sn, 0);
        cos.put(i * r, c, 0, r);
        sinSigned.put(i * r, sn, 0, r);
      }
    }
    return r;
  }

  private void rows(int[] positions, int seqLen, float[] cos, float[] sin) {
    float[] inv = config.invFreq(seqLen);
    int r = 2 * inv.length;
    Table table = tableFor(inv, maxPosition(positions) + 1);
    for (int i = 0; i < positions.length; i++) {
      if (table != null) {
        System.arraycopy(table.cos, positions[i] * r, cos, i * r, r);
        System.arraycopy(table.sin, positions[i] * r, sin, i * r, r);
      } else {
        fill(inv, positions[i], cos, sin, i * r);
      }
    }
  }

  private static int maxPosition(int[] positions) {
    int max = 0;
    for (int p : positions) {
      max = Math.max(max, p);
    }
    return max;
  }

  /** Row {@code o} of cos and sinSigned for position p: float32 products, as HF's matmul. */
  private static void fill(float[] inv, int p, float[] cos, float[] sin, int o) {
    int half = inv.length;
    for (int j = 0; j < half; j++) {
      float f = inv[j] * p;
      float c = (float) Math.cos(f);
      float s = (float) Math.sin(f);
      cos[o + j] = c;
      cos[o + half + j] = c;
      sin[o + j] = -s;
      sin[o + half + j] = s;
    }
  }

  /**
   * The rows of positions [0, rows) under the model's base frequencies, grown to cover {@code
   * need} positions; null where the step's frequencies are not those (dynamic NTK past the trained
   * length rescales them per step, so those rows are computed for the step). A 32-row decode
   * step's positions took 2,048 sin/cos pairs (20–40 µs) on the thread the rest of the step waits
   * for; the table holds the same float32 values.
   */
  private Table tableFor(float[] inv, int need) {
    Table t = table;
    if (t == null) {
      t = new Table(config.invFreq(0), 0, new float[0], new float[0]);
    }
    if (!Arrays.equals(inv, t.inv)) {
      return null;
    }
    if (t.rows >= need) {
      return t;
    }
    // grow: at least double (few rebuilds as contexts lengthen), but never far past the positions
    // seen, so a long-context model holds rows only for the lengths it serves
    int rows = Math.max(need, Math.min(2 * t.rows, need + TABLE_SLACK));
    int r = 2 * inv.length;
    float[] cos = Arrays.copyOf(t.cos, rows * r);
    float[] sin = Arrays.copyOf(t.sin, rows * r);
    for (int p = t.rows; p < rows; p++) {
      fill(inv, p, cos, sin, p * r);
    }
    Table grown = new Table(t.inv, rows, cos, sin);
    table = grown; // (a racing step may build the same rows: both tables are right)
    return grown;
  }

  /** How many positions past the longest seen a growing table adds at most. */
  private static final int TABLE_SLACK = 1024;

  /** Cos and sinSigned rows (R floats each) of positions [0, rows) under inv. */
  private record Table(float[] inv, int rows, float[] cos, float[] sin) {}

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
