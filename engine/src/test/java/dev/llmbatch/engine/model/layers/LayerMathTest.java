package dev.llmbatch.engine.model.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.runtime.TorchRuntime;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The shared layers against values worked out by hand. */
class LayerMathTest {
  static NDManager m;

  @BeforeAll
  static void start() {
    m = TorchRuntime.engine(1).newBaseManager();
  }

  @AfterAll
  static void stop() {
    m.close();
  }

  @Test
  void rmsNormScalesByTheRootMeanSquare() {
    NDArray x = m.create(new float[] {1, 2, 3, 4});
    float[] w = {0.5f, 1.5f, -1f, 2f};
    // mean(x²) = 30 / 4 = 7.5
    double inv = 1 / Math.sqrt(7.5 + 1e-6);
    float[] plain = Norm.of(Norm.Kind.RMS, m.create(w), null, 1e-6f).apply(x).toFloatArray();
    float[] gemma = Norm.of(Norm.Kind.RMS_ONE_PLUS, m.create(w), null, 1e-6f).apply(x)
        .toFloatArray();
    for (int i = 0; i < 4; i++) {
      assertEquals((i + 1) * inv * w[i], plain[i], 1e-6);
      assertEquals((i + 1) * inv * (1 + w[i]), gemma[i], 1e-6);
    }
  }

  @Test
  void layerNormCentresAndScales() {
    NDArray x = m.create(new float[] {1, 2, 3, 4});
    // mean 2.5, biased variance 1.25
    float[] y = Norm.of(Norm.Kind.LAYER, m.create(new float[] {1, 2, 1, 2}),
        m.create(new float[] {0.5f, 0, 0, -1}), 1e-5f).apply(x).toFloatArray();
    double s = 1 / Math.sqrt(1.25 + 1e-5);
    assertArrayEquals(new float[] {(float) (-1.5 * s + 0.5), (float) (-0.5 * s * 2),
        (float) (0.5 * s), (float) (1.5 * s * 2 - 1)}, y, 1e-5f);
  }

  @Test
  void llama3RopeScalingKeepsHighFrequenciesSlowsLowOnesAndBlendsBetween() {
    // Llama 3.1: theta 500000, head_dim 128, factor 8, low 1, high 4, original 8192
    RopeConfig c = new RopeConfig(500000, 128, RopeConfig.Type.LLAMA3, 8, 1, 4, 8192);
    float[] inv = c.invFreq(1);
    float[] plain = RopeConfig.plain(500000, 128).invFreq(1);
    // i = 0: wavelength 2π < 8192/4 = 2048 → unchanged
    assertEquals(1.0f, inv[0], 0f);
    // i = 63: θ^(−126/128) = 500000^(−0.984375); wavelength ≈ 2π·4.0e5 > 8192 → divided by 8
    double f63 = Math.pow(500000, -126.0 / 128);
    assertEquals(f63 / 8, inv[63], f63 * 1e-6);
    // find a medium-frequency index: 2048 ≤ wavelength ≤ 8192, and check the smooth blend
    int checked = 0;
    for (int i = 0; i < 64; i++) {
      double f = Math.pow(500000, -2.0 * i / 128);
      double wavelen = 2 * Math.PI / f;
      if (wavelen >= 2048 && wavelen <= 8192) {
        double smooth = (8192 / wavelen - 1) / (4 - 1);
        double expected = (1 - smooth) * f / 8 + smooth * f;
        assertEquals(expected, inv[i], expected * 1e-5, "medium index " + i);
        checked++;
      } else if (wavelen < 2048) {
        assertEquals(plain[i], inv[i], 0f, "high-frequency index " + i);
      }
    }
    assertEquals(true, checked > 0, "no medium-frequency index checked");
  }

  @Test
  void linearAndDynamicRopeScaling() {
    float[] plain = RopeConfig.plain(10000, 8).invFreq(1);
    float[] linear = new RopeConfig(10000, 8, RopeConfig.Type.LINEAR, 4, 0, 0, 0).invFreq(1);
    // inv_freq = 10000^(−2i/8): 1, 0.1, 0.01, 0.001
    assertArrayEquals(new float[] {1f, 0.1f, 0.01f, 0.001f}, plain, 1e-7f);
    for (int i = 0; i < 4; i++) {
      assertEquals(plain[i] / 4, linear[i], 1e-9f);
    }
    RopeConfig dyn = new RopeConfig(10000, 8, RopeConfig.Type.DYNAMIC, 2, 0, 0, 100);
    assertArrayEquals(plain, dyn.invFreq(100), 0f); // within the trained length: unchanged
    // 200 tokens: base = 10000 · (2·200/100 − 1)^(8/6) = 10000 · 3^(4/3)
    double base = 10000 * Math.pow(3, 4.0 / 3);
    float[] grown = dyn.invFreq(200);
    for (int i = 0; i < 4; i++) {
      assertEquals(Math.pow(base, -2.0 * i / 8), grown[i], Math.pow(base, -2.0 * i / 8) * 1e-5);
    }
  }

  @Test
  void rotaryTurnsEachPairByPositionTimesFrequency() {
    RotaryEmbedding r = new RotaryEmbedding(RopeConfig.plain(10000, 4), 4);
    // head_dim 4: pairs (0, 2) at frequency 1 and (1, 3) at 10000^(−1/2) = 0.01
    NDArray[] cs = r.cosSin(m, new int[] {3}, 1, 1, 4);
    NDArray x = m.create(new float[] {1, 2, 0, 0}, new Shape(1, 1, 1, 4));
    float[] y = r.apply(x, cs[0], cs[1]).toFloatArray();
    assertArrayEquals(new float[] {(float) Math.cos(3), 2 * (float) Math.cos(0.03f),
        (float) Math.sin(3), 2 * (float) Math.sin(0.03f)}, y, 1e-6f);
    // partial rotary: only the first 2 of 4 dims turn
    RotaryEmbedding half = new RotaryEmbedding(RopeConfig.plain(10000, 2), 4);
    NDArray[] hs = half.cosSin(m, new int[] {3}, 1, 1, 4);
    float[] z = half.apply(m.create(new float[] {1, 0, 5, 6}, new Shape(1, 1, 1, 4)), hs[0], hs[1])
        .toFloatArray();
    assertArrayEquals(new float[] {(float) Math.cos(3), (float) Math.sin(3), 5, 6}, z, 1e-6f);
  }

  @Test
  void keptCosSinRowsEqualTheDirectFormulaAsTheyGrowAndDynamicNtkBypassesThem() {
    // the rows kept across steps (grown as positions come) must be the very float32 values a step
    // computes for itself: cos(inv_j · p), cat(−sin, sin); the same into a direct step's buffers
    RopeConfig dyn = new RopeConfig(10000, 8, RopeConfig.Type.DYNAMIC, 2, 0, 0, 100);
    RotaryEmbedding r = new RotaryEmbedding(dyn, 8);
    int[][] steps = {{0, 1}, {5}, {2, 40, 3}, {1500}, {7, 1499}, {99}};
    for (int[] positions : steps) {
      NDArray[] cs = r.cosSin(m, positions, 1, positions.length, 100);
      assertArrayEquals(direct(dyn.invFreq(100), positions, true), cs[0].toFloatArray(), 0f);
      assertArrayEquals(direct(dyn.invFreq(100), positions, false), cs[1].toFloatArray(), 0f);
      float[][] into = into(r, positions, 100);
      assertArrayEquals(cs[0].toFloatArray(), into[0], 0f);
      assertArrayEquals(cs[1].toFloatArray(), into[1], 0f);
    }
    // past the trained length the frequencies are the step's own, not the kept rows'
    int[] late = {150, 3};
    NDArray[] cs = r.cosSin(m, late, 1, 2, 200);
    assertArrayEquals(direct(dyn.invFreq(200), late, true), cs[0].toFloatArray(), 0f);
    assertArrayEquals(direct(dyn.invFreq(200), late, false), cs[1].toFloatArray(), 0f);
    assertArrayEquals(cs[1].toFloatArray(), into(r, late, 200)[1], 0f);
    float[] base = direct(dyn.invFreq(100), late, true);
    assertTrue(cs[0].toFloatArray()[1] != base[1], "dynamic NTK past 100 tokens turns slower");
    // and within it again, the kept rows
    NDArray[] back = r.cosSin(m, new int[] {3}, 1, 1, 50);
    assertArrayEquals(direct(dyn.invFreq(50), new int[] {3}, false), back[1].toFloatArray(), 0f);
  }

  /** cosSinInto's rows, read back: {cos, sinSigned}. */
  private static float[][] into(RotaryEmbedding r, int[] positions, int seqLen) {
    int rot = r.config().rotaryDim();
    java.nio.FloatBuffer c = java.nio.FloatBuffer.allocate(positions.length * rot + 3);
    java.nio.FloatBuffer s = java.nio.FloatBuffer.allocate(positions.length * rot + 3);
    assertEquals(rot, r.cosSinInto(positions, seqLen, c, s));
    float[][] out = new float[2][positions.length * rot];
    c.get(0, out[0]);
    s.get(0, out[1]);
    return out;
  }

  /** cos rows (or sinSigned rows) of positions under inv, as HF computes them in float32. */
  private static float[] direct(float[] inv, int[] positions, boolean cos) {
    int half = inv.length;
    float[] out = new float[positions.length * 2 * half];
    for (int i = 0; i < positions.length; i++) {
      for (int j = 0; j < half; j++) {
        float f = inv[j] * (float) positions[i];
        float v = cos ? (float) Math.cos(f) : (float) Math.sin(f);
        out[i * 2 * half + j] = cos ? v : -v;
        out[i * 2 * half + half + j] = v;
      }
    }
    return out;
  }

  @Test
  void slidingWindowMaskSeesOnlyTheLastWindowPositions() {
    try (NDManager s = m.newSubManager()) {
      // one row already holding 3 tokens, adding 2 (positions 3 and 4), window 2
      StepBatch b = new StepBatch(s, List.of(new StepInput(0, 3, new int[] {7, 8})), 8, 1, 8,
          null, new int[] {0, 2}, DataType.FLOAT32);
      float inf = Float.NEGATIVE_INFINITY;
      assertArrayEquals(new float[] {0, 0, 0, 0, inf, 0, 0, 0, 0, 0},
          b.mask(0).toFloatArray());
      assertArrayEquals(new float[] {inf, inf, 0, 0, inf, inf, inf, inf, 0, 0},
          b.mask(2).toFloatArray());
      assertArrayEquals(new long[] {3, 4}, b.writeRows.toLongArray());
      assertTrue(b.contiguous, "one row reads its slot as a view");
      assertEquals(5, b.l);
    }
  }

  @Test
  void groupedQueryHeadsShareTheirKvHeadAsRepeatKvDoes() {
    // 4 query heads over 2 KV heads (head h uses KV head h / 2) must equal plain multi-head
    // attention whose K/V projections repeat each KV head's rows for its 2 query heads
    int hidden = 8;
    int d = 2;
    SplittableRandom rnd = new SplittableRandom(5);
    float[] wq = random(rnd, 4 * d * hidden);
    float[] wk = random(rnd, 2 * d * hidden);
    float[] wv = random(rnd, 2 * d * hidden);
    float[] wo = random(rnd, hidden * 4 * d);
    float[] repK = repeatHeads(wk, d * hidden);
    float[] repV = repeatHeads(wv, d * hidden);
    float[] x = random(rnd, 3 * hidden);
    float[] gqa = attend(concat(wq, wk, wv), wo, 2, x, hidden, d);
    float[] mha = attend(concat(wq, repK, repV), wo, 4, x, hidden, d);
    assertArrayEquals(mha, gqa, 1e-6f);
  }

  private float[] attend(float[] wqkv, float[] wo, int kvHeads, float[] x, int hidden, int d) {
    try (NDManager s = m.newSubManager()) {
      RotaryEmbedding rot = new RotaryEmbedding(RopeConfig.plain(10000, d), d);
      Linear qkv = new Linear(s.create(wqkv, new Shape((4 + 2L * kvHeads) * d, hidden)), null);
      Linear o = new Linear(s.create(wo, new Shape(hidden, 4L * d)), null);
      Attention a = new Attention(qkv, o, null, null, rot, 4, kvHeads, d, 0,
          (float) (1 / Math.sqrt(d)), 0f);
      int capacity = 4;
      NDArray keys = s.zeros(new Shape((long) kvHeads * capacity + 1, d));
      NDArray values = s.zeros(new Shape((long) kvHeads * capacity + 1, d));
      StepBatch b = new StepBatch(s, List.of(new StepInput(0, 0, new int[] {0, 1, 2})), capacity,
          kvHeads, (long) kvHeads * capacity, rot, new int[] {0}, DataType.FLOAT32);
      // one slot: the caches' (S = 1, Hkv, C, D) views over all rows but the trash row
      NDIndex body = new NDIndex(":{}", (long) kvHeads * capacity);
      return a.forward(s.create(x, new Shape(1, 3, hidden)), b, keys, values,
          keys.get(body).reshape(1, kvHeads, capacity, d),
          values.get(body).reshape(1, kvHeads, capacity, d), null).toFloatArray();
    }
  }

  @Test
  void foldedNormScaleAndAttentionScaleLeaveTheFunctionUnchanged() {
    try (NDManager s = m.newSubManager()) {
      SplittableRandom rnd = new SplittableRandom(11);
      NDArray x = s.create(random(rnd, 2 * 4), new Shape(2, 4));
      NDArray g = s.create(new float[] {0.5f, 2f, -1f, 3f});
      // the RMSNorm's scale folded into the columns of the linear it feeds
      NDArray w = s.create(random(rnd, 3 * 4), new Shape(3, 4));
      NDArray b = s.create(new float[] {0.1f, -0.2f, 0.3f});
      // (each linear owns its weight: on the CPU the first apply packs and frees it)
      Linear plain = new Linear(w.duplicate(), b.duplicate());
      float[] expected = plain.apply(x.mul(g)).toFloatArray();
      Linear folded = new Linear(w.duplicate(), b.duplicate()).scaledInputs(g);
      assertArrayEquals(expected, folded.apply(x).toFloatArray(), 1e-6f);
      // 1/√d folded into the first 2 output rows (q) and their bias only
      float[] y = plain.apply(x).toFloatArray();
      float[] z = new Linear(w.duplicate(), b.duplicate())
          .scaledOutputs(2, 0.25f).apply(x).toFloatArray();
      for (int i = 0; i < y.length; i++) {
        assertEquals(i % 3 < 2 ? 0.25f * y[i] : y[i], z[i], 1e-6f, "output " + i);
      }
      // the norm without its scale, times the scale, is the norm
      RmsNorm norm = new RmsNorm(g, 1e-6f);
      assertArrayEquals(norm.apply(x).toFloatArray(),
          norm.unweighted().apply(x).mul(g).toFloatArray(), 1e-6f);
    }
  }

  @Test
  void aMaskThatHidesNothingIsNotBuilt() {
    try (NDManager s = m.newSubManager()) {
      // two decode rows at the same position see every key: no additive mask at all
      StepBatch same = new StepBatch(s, List.of(new StepInput(0, 4, new int[] {1}),
          new StepInput(1, 4, new int[] {2})), 8, 1, 16, null, new int[] {0}, DataType.FLOAT32);
      assertEquals(null, same.mask(0));
      // rows of different lengths: the shorter row must not see the longer one's keys
      StepBatch ragged = new StepBatch(s, List.of(new StepInput(0, 4, new int[] {1}),
          new StepInput(1, 2, new int[] {2})), 8, 1, 16, null, new int[] {0}, DataType.FLOAT32);
      float inf = Float.NEGATIVE_INFINITY;
      assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0, 0, 0, inf, inf},
          ragged.mask(0).toFloatArray());
    }
  }

  private static float[] random(SplittableRandom r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return v;
  }

  private static float[] repeatHeads(float[] w, int rowsPerHead) {
    int heads = w.length / rowsPerHead;
    float[] out = new float[2 * w.length];
    for (int h = 0; h < heads; h++) {
      for (int rep = 0; rep < 2; rep++) {
        System.arraycopy(w, h * rowsPerHead, out, (2 * h + rep) * rowsPerHead, rowsPerHead);
      }
    }
    return out;
  }

  private static float[] concat(float[]... parts) {
    int n = 0;
    for (float[] p : parts) {
      n += p.length;
    }
    float[] out = new float[n];
    int o = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, out, o, p.length);
      o += p.length;
    }
    return out;
  }
}
