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
    float[][] cs = rows(positions, seqLen);
    Shape shape = new Shape(b, t, 1, config.rotaryDim());
    return new NDArray[] {m.create(cs[0], shape), m.create(cs[1], shape)};
  }

  /**
   * {@link #cosSin}'s rows into buffers ({@code positions.length} rows of R each, from index 0),
   * for a step that makes no libtorch array; returns R.
   */
  public int cosSinInto(int[] positions, int seqLen, FloatBuffer cos, FloatBuffer sinSigned) {
    float[][] cs = rows(positions, seqLen);
    cos.put(0, cs[0]);
    sinSigned.put(0, cs[1]);
    return config.rotaryDim();
  }

  /** {cos, sinSigned} rows of {@code positions}, R floats each, row-major. */
  private float[][] rows(int[] positions, int seqLen) {
    int r = config.rotaryDim();
    float[] cos = new float[positions.length * r];
    float[] sin = new float[positions.length * r];
    if (config.rescales(seqLen)) { // this step's own frequencies: its rows alone
      float[] inv = config.invFreq(seqLen);
      for (int i = 0; i < positions.length; i++) {
        fill(inv, positions[i], cos, sin, i * r);
      }
      return new float[][] {cos, sin};
    }
    int max = 0;
    for (int p : positions) {
      max = Math.max(max, p);
    }
    Table table = tableFor(max + 1);
    for (int i = 0; i < positions.length; i++) {
      System.arraycopy(table.cos, positions[i] * r, cos, i * r, r);
      System.arraycopy(table.sin, positions[i] * r, sin, i * r, r);
    }
    return new float[][] {cos, sin};
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
   * The rows of positions [0, rows) under the base frequencies, grown to cover {@code need}
   * positions. A 32-row decode step's positions took 2,048 sin/cos pairs (20–40 µs) on the thread
   * the rest of the step waits for; the table holds the same float32 values.
   */
  private Table tableFor(int need) {
    Table t = table;
    if (t != null && t.rows >= need) {
      return t;
    }
    float[] inv = config.invFreq(0);
    int old = t == null ? 0 : t.rows;
    // grow: at least double (few rebuilds as contexts lengthen), but never far past the positions
    // seen, so a long-context model holds rows only for the lengths it serves
    int rows = Math.max(need, Math.min(2 * old, need + TABLE_SLACK));
    int r = config.rotaryDim();
    float[] cos = t == null ? new float[rows * r] : Arrays.copyOf(t.cos, rows * r);
    float[] sin = t == null ? new float[rows * r] : Arrays.copyOf(t.sin, rows * r);
    for (int p = old; p < rows; p++) {
      fill(inv, p, cos, sin, p * r);
    }
    Table grown = new Table(rows, cos, sin);
    table = grown; // (a racing step may build the same rows: both tables are right)
    return grown;
  }

  /** How many positions past the longest seen a growing table adds at most. */
  private static final int TABLE_SLACK = 1024;

  /** Cos and sinSigned rows (R floats each) of positions [0, rows) under the base frequencies. */
  private record Table(int rows, float[] cos, float[] sin) {}

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
