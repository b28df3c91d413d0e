package dev.llmbatch.engine.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.llmbatch.engine.model.layers.Activation;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The fused CPU kernels against their definitions computed in double precision, here in Java.
 * Attention, softmax_j(scale · q·k_j, soft-capped, over the visible keys) · v, covers head sizes
 * the kernel specialises (32, 64, 128) and ones it does not (20, 24), sequences shorter and longer
 * than a 16-key block, GQA, prefill chunks beside decode rows at different cache positions (both
 * scoring paths: transposed keys for many queries, dot products for a decode row's few), sliding
 * windows, soft-capping, rows no sequence covers, query rows wider than the query heads, and the
 * work shared over two threads; then RMSNorm, the SiLU-gated product and the row gather of an
 * embedding lookup. Tolerance: 1e-5 × max(1,
 * |expected|).
 */
class CpuKernelsTest {
  private static NDManager m;

  @BeforeAll
  static void start() {
    TorchRuntime.engine(2);
    m = NDManager.newBaseManager(TorchRuntime.device("cpu"), "PyTorch");
    NativeTests.requireBuilt(CpuKernels.available(), CpuKernels.unavailableReason(),
        "the fused CPU kernels library");
  }

  @AfterAll
  static void stop() {
    m.close();
  }

  private static float[] random(SplittableRandom r, int n, double spread) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) ((r.nextDouble() * 2 - 1) * spread);
    }
    return v;
  }

  private static void close(float[] expected, float[] actual, String what) {
    assertTrue(expected.length == actual.length, what + ": lengths differ");
    for (int i = 0; i < expected.length; i++) {
      float tol = 1e-5f * Math.max(1f, Math.abs(expected[i]));
      if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
        fail(what + ": element " + i + " expected " + expected[i] + " but was " + actual[i]);
      }
    }
  }

  @Test
  void probesReportARateAndRefuseWhatTheyCannotRead() {
    // benchmarks time them between their steps (DecoderBench): rates, whatever the host gives
    double gflops = CpuKernels.fmaProbeGflops(20_000);
    assertTrue(gflops > 0 && Double.isFinite(gflops), "FMA probe rate " + gflops);
    assertThrows(IllegalArgumentException.class, () -> CpuKernels.fmaProbeGflops(0));
    java.nio.ByteBuffer x = java.nio.ByteBuffer.allocateDirect(1 << 20);
    double gbs = CpuKernels.readProbeGbs(x, (1 << 20) / Float.BYTES);
    assertTrue(gbs > 0 && Double.isFinite(gbs), "read probe rate " + gbs);
    assertThrows(IllegalArgumentException.class,
        () -> CpuKernels.readProbeGbs(x, (1 << 20) / Float.BYTES + 1));
    assertThrows(IllegalArgumentException.class,
        () -> CpuKernels.readProbeGbs(java.nio.ByteBuffer.allocate(64), 16));
  }

  /** softmax over keys lo..hi−1 of scale·q·k (capped) times v; keys and values as accessors. */
  private static void attendOne(float[] q, int qAt, Rows keys, Rows values, int lo, int hi,
      int d, double scale, double cap, float[] out, int outAt) {
    double[] s = new double[hi - lo];
    double max = Double.NEGATIVE_INFINITY;
    for (int j = lo; j < hi; j++) {
      double dot = 0;
      for (int c = 0; c < d; c++) {
        dot += (double) q[qAt + c] * keys.at(j, c);
      }
      dot *= scale;
      if (cap > 0) {
        dot = cap * Math.tanh(dot / cap);
      }
      s[j - lo] = dot;
      max = Math.max(max, dot);
    }
    double sum = 0;
    for (int j = 0; j < s.length; j++) {
      s[j] = Math.exp(s[j] - max);
      sum += s[j];
    }
    for (int c = 0; c < d; c++) {
      double acc = 0;
      for (int j = lo; j < hi; j++) {
        acc += s[j - lo] * values.at(j, c);
      }
      out[outAt + c] = (float) (acc / sum);
    }
  }

  private interface Rows {
    double at(int key, int c);
  }

  @ParameterizedTest(name = "heads {0}, head size {1}")
  @CsvSource({"4, 32", "3, 24", "2, 64", "2, 128"})
  void anEncoderAttendsWithinEachSequence(int heads, int d) {
    SplittableRandom r = new SplittableRandom(11L * heads + d);
    int[] lengths = {40, 17, 16, 5, 1};
    int[] starts = new int[lengths.length];
    int n = 0;
    for (int i = 0; i < lengths.length; i++) {
      starts[i] = n;
      n += lengths[i];
    }
    int width = heads * d;
    float[] qkv = random(r, n * 3 * width, 1.5);
    float[] expected = new float[n * width];
    for (int i = 0; i < lengths.length; i++) {
      int s0 = starts[i];
      for (int h = 0; h < heads; h++) {
        int head = h;
        Rows k = (j, c) -> qkv[(s0 + j) * 3 * width + width + head * d + c];
        Rows v = (j, c) -> qkv[(s0 + j) * 3 * width + 2 * width + head * d + c];
        for (int t = 0; t < lengths[i]; t++) {
          attendOne(qkv, (s0 + t) * 3 * width + h * d, k, v, 0, lengths[i], d, 1, 0, expected,
              (s0 + t) * width + h * d);
        }
      }
    }
    try (NDManager s = m.newSubManager()) {
      NDArray in = s.create(qkv, new Shape(n, 3L * width));
      NDArray out = CpuKernels.bidirectional(in, heads, d, starts, lengths);
      assertArrayEquals(new long[] {n, width}, out.getShape().getShape());
      close(expected, out.toFloatArray(), "encoder attention, " + heads + " heads of " + d);
    }
  }

  // GQA groups of 1–7 query heads: a decode row's group is scored and summed in one pass where
  // registers allow (head sizes 16–128), the chunks' many queries in blocks of 8
  @ParameterizedTest(name = "head size {0}, window {1}, softcap {2}, {3} heads over {4}")
  @CsvSource({"64, 0, 0, 6, 2", "20, 0, 0, 6, 2", "32, 5, 0, 6, 2", "128, 0, 30, 6, 2",
      "24, 9, 20, 6, 2", "48, 0, 0, 6, 2", "48, 0, 0, 8, 2", "64, 0, 0, 8, 2", "64, 3, 0, 2, 2",
      "96, 0, 0, 4, 2", "96, 0, 0, 2, 2", "80, 0, 0, 4, 2", "112, 0, 0, 6, 3", "16, 0, 0, 7, 1",
      "64, 0, 0, 5, 1", "128, 0, 0, 8, 2"})
  void aDecoderStepAttendsToEachRowsCachedPrefix(int d, int window, float softcap, int heads,
      int kvHeads) {
    SplittableRandom r = new SplittableRandom(d * 31L + window + heads * 7L + kvHeads);
    int group = heads / kvHeads;
    int capacity = 48;
    int slots = 4;
    float scale = 1.7f / (float) Math.sqrt(d);
    float[] keys = random(r, (slots * kvHeads * capacity + 1) * d, 1.0);
    float[] values = random(r, (slots * kvHeads * capacity + 1) * d, 1.0);
    // a 7-token prefill chunk, a decode row deep in its slot, a placeholder, a 3-token chunk
    int[] slot = {2, 0, 3, 1};
    int[] counts = {7, 1, 0, 3};
    int[] startPos = {0, 30, 5, 12};
    int[] firsts = new int[4];
    long[] kvRows = new long[4];
    int n = 0;
    for (int i = 0; i < 4; i++) {
      firsts[i] = n;
      n += Math.max(counts[i], 1); // a placeholder still has its (ignored) token
      kvRows[i] = (long) slot[i] * kvHeads * capacity;
    }
    int qStride = (heads + kvHeads) * d; // q rows as rotary leaves them: q heads, then k heads
    float[] q = random(r, n * qStride, 1.0);
    float[] expected = new float[n * heads * d]; // the placeholder's row stays zero
    for (int i = 0; i < 4; i++) {
      for (int t = 0; t < counts[i]; t++) {
        int p = startPos[i] + t;
        int lo = window > 0 ? Math.max(0, p - window + 1) : 0;
        for (int h = 0; h < heads; h++) {
          long base = kvRows[i] + (long) (h / group) * capacity;
          Rows k = (j, c) -> keys[(int) ((base + j) * d + c)];
          Rows v = (j, c) -> values[(int) ((base + j) * d + c)];
          int row = firsts[i] + t;
          attendOne(q, row * qStride + h * d, k, v, lo, p + 1, d, scale, softcap, expected,
              (row * heads + h) * d);
        }
      }
    }
    try (NDManager s = m.newSubManager()) {
      NDArray qa = s.create(q, new Shape(1, n, heads + kvHeads, d));
      NDArray kc = s.create(keys, new Shape(keys.length / d, d));
      NDArray vc = s.create(values, new Shape(values.length / d, d));
      CpuKernels.Heads spec =
          new CpuKernels.Heads(heads, kvHeads, d, window, scale, softcap);
      CpuKernels.Sequences seqs =
          new CpuKernels.Sequences(firsts, counts, startPos, kvRows);
      NDArray out = CpuKernels.causal(qa, qStride, kc, vc, capacity, spec, seqs);
      assertArrayEquals(new long[] {n, (long) heads * d}, out.getShape().getShape());
      close(expected, out.toFloatArray(), "decoder attention, head size " + d + ", window "
          + window + ", softcap " + softcap);
      assertThrows(IllegalArgumentException.class,
          () -> CpuKernels.causal(qa, 7, kc, vc, capacity, spec, seqs), "rows that do not tile q");
      assertThrows(IllegalArgumentException.class,
          () -> CpuKernels.causal(qa, (heads - 1) * d, kc, vc, capacity, spec, seqs),
          "rows narrower than the query heads");
    }
  }

  /**
   * From the raw q|k|v projection: queries and new keys rotated (HF's rotate_half over the first
   * R dims), each new key and value written to its position of the cache (and nothing else
   * written), then attention over the cache as above.
   */
  @ParameterizedTest(name = "head size {0}, rotary dims {1}")
  @CsvSource({"32, 32", "32, 16", "20, 0"})
  void aProjectionIsRotatedWrittenToTheCacheAndAttended(int d, int rot) {
    SplittableRandom r = new SplittableRandom(d * 7L + rot);
    int heads = 4;
    int kvHeads = 2;
    int capacity = 40;
    int width = (heads + 2 * kvHeads) * d;
    float[] keys = random(r, (3 * kvHeads * capacity + 1) * d, 1.0);
    float[] values = random(r, (3 * kvHeads * capacity + 1) * d, 1.0);
    int[] slot = {1, 0, 2};
    int[] counts = {5, 1, 0};
    int[] startPos = {0, 20, 3};
    int[] firsts = {0, 5, 6};
    long[] kvRows = new long[3];
    for (int i = 0; i < 3; i++) {
      kvRows[i] = (long) slot[i] * kvHeads * capacity;
    }
    int n = 7;
    float[] qkv = random(r, n * width, 1.0);
    float[] cos = new float[n * Math.max(rot, 1)];
    float[] sin = new float[cos.length];
    for (int t = 0; t < n && rot > 0; t++) {
      for (int i = 0; i < rot / 2; i++) {
        double a = r.nextDouble() * 6.3;
        cos[t * rot + i] = (float) Math.cos(a);
        cos[t * rot + rot / 2 + i] = (float) Math.cos(a);
        sin[t * rot + i] = (float) -Math.sin(a);
        sin[t * rot + rot / 2 + i] = (float) Math.sin(a);
      }
    }
    // expected: rotated queries; the cache with the new keys (rotated) and values in place
    float[] q = new float[n * heads * d];
    float[] wantKeys = keys.clone();
    float[] wantValues = values.clone();
    for (int t = 0; t < n; t++) {
      for (int h = 0; h < heads; h++) {
        rotate(qkv, t * width + h * d, cos, sin, t * rot, rot, d, q, (t * heads + h) * d);
      }
    }
    for (int i = 0; i < 3; i++) {
      for (int t = 0; t < counts[i]; t++) {
        int tok = firsts[i] + t;
        for (int h = 0; h < kvHeads; h++) {
          int row = (int) ((kvRows[i] + (long) h * capacity + startPos[i] + t) * d);
          rotate(qkv, tok * width + (heads + h) * d, cos, sin, tok * rot, rot, d, wantKeys, row);
          System.arraycopy(qkv, tok * width + (heads + kvHeads + h) * d, wantValues, row, d);
        }
      }
    }
    float scale = 1f / (float) Math.sqrt(d);
    float[] expected = new float[n * heads * d];
    for (int i = 0; i < 3; i++) {
      for (int t = 0; t < counts[i]; t++) {
        int p = startPos[i] + t;
        for (int h = 0; h < heads; h++) {
          long base = kvRows[i] + (long) (h / (heads / kvHeads)) * capacity;
          Rows k = (j, c) -> wantKeys[(int) ((base + j) * d + c)];
          Rows v = (j, c) -> wantValues[(int) ((base + j) * d + c)];
          int row = firsts[i] + t;
          attendOne(q, (row * heads + h) * d, k, v, 0, p + 1, d, scale, 0, expected,
              (row * heads + h) * d);
        }
      }
    }
    try (NDManager s = m.newSubManager()) {
      NDArray kc = s.create(keys, new Shape(keys.length / d, d));
      NDArray vc = s.create(values, new Shape(values.length / d, d));
      NDArray out = CpuKernels.project(s.create(qkv, new Shape(1, n, width)),
          rot == 0 ? null : s.create(cos, new Shape(1, n, 1, rot)),
          rot == 0 ? null : s.create(sin, new Shape(1, n, 1, rot)), kc, vc, capacity,
          new CpuKernels.Heads(heads, kvHeads, d, 0, scale, 0),
          new CpuKernels.Sequences(firsts, counts, startPos, kvRows));
      close(wantKeys, kc.toFloatArray(), "key cache after the step");
      close(wantValues, vc.toFloatArray(), "value cache after the step");
      close(expected, out.toFloatArray(), "attention from the projection");
    }
  }

  /** y = x·cos + rotate_half(x)·sin over the first rot dims, in double; the rest copied. */
  private static void rotate(float[] x, int at, float[] cos, float[] sin, int cs, int rot, int d,
      float[] y, int yAt) {
    int half = rot / 2;
    for (int i = 0; i < d; i++) {
      if (i >= rot) {
        y[yAt + i] = x[at + i];
      } else {
        int other = i < half ? i + half : i - half;
        y[yAt + i] = (float) ((double) x[at + i] * cos[cs + i]
            + (double) x[at + other] * sin[cs + i]);
      }
    }
  }

  /** RMSNorm rows against its definition in double, with and without a weight, odd widths. */
  @ParameterizedTest(name = "{0} rows of {1}")
  @CsvSource({"1, 768", "3, 37", "200, 256", "5, 8"})
  void rmsNormMatchesItsDefinition(int rows, int n) {
    SplittableRandom r = new SplittableRandom(rows * 131L + n);
    float[] x = random(r, rows * n, 3.0);
    float[] w = random(r, n, 2.0);
    float eps = 1e-6f;
    for (boolean weighted : new boolean[] {false, true}) {
      float[] expected = new float[x.length];
      for (int i = 0; i < rows; i++) {
        double ss = 0;
        for (int c = 0; c < n; c++) {
          ss += (double) x[i * n + c] * x[i * n + c];
        }
        double inv = 1 / Math.sqrt(ss / n + eps);
        for (int c = 0; c < n; c++) {
          expected[i * n + c] = (float) (x[i * n + c] * inv * (weighted ? w[c] : 1));
        }
      }
      try (NDManager s = m.newSubManager()) {
        NDArray out = CpuKernels.rmsNorm(s.create(x, new Shape(1, rows, n)),
            weighted ? s.create(w) : null, eps);
        assertArrayEquals(new long[] {1, rows, n}, out.getShape().getShape());
        close(expected, out.toFloatArray(), "RMSNorm, weighted " + weighted);
      }
    }
  }

  /** silu(gate)·up against its definition in double, large negative and positive gates. */
  @ParameterizedTest(name = "{0} rows of {1}")
  @CsvSource({"1, 2048", "4, 21", "64, 512"})
  void siluGatingMatchesItsDefinition(int rows, int n) {
    SplittableRandom r = new SplittableRandom(rows * 17L + n);
    float[] gu = random(r, rows * 2 * n, 12.0);
    float[] expected = new float[rows * n];
    for (int i = 0; i < rows; i++) {
      for (int c = 0; c < n; c++) {
        double g = gu[i * 2 * n + c];
        expected[i * n + c] = (float) (g / (1 + Math.exp(-g)) * gu[i * 2 * n + n + c]);
      }
    }
    try (NDManager s = m.newSubManager()) {
      NDArray out = CpuKernels.siluMul(s.create(gu, new Shape(rows, 2L * n)));
      assertArrayEquals(new long[] {rows, n}, out.getShape().getShape());
      close(expected, out.toFloatArray(), "silu(gate)·up");
    }
  }

  /**
   * Gemma 2's final logit soft-capping in place, cap · tanh(x / cap), against tanh in double to a
   * few ulps across the polynomial's range, its edge at |x / cap| = 0.625 and the exponential form
   * beyond, tiny and huge logits of both signs, rows with and without a scalar tail.
   */
  @ParameterizedTest(name = "{0} rows of {1}, cap {2}")
  @CsvSource({"1, 4096, 30", "3, 21, 30", "16, 512, 2"})
  void softcappingMatchesTanhInDouble(int rows, int n, float cap) {
    SplittableRandom r = new SplittableRandom(rows * 29L + n);
    float[] x = random(r, rows * n, 3.0 * cap);
    float[] special = {0f, 1e-6f, -1e-6f, 0.625f * cap, -0.625f * cap, 0.6249f * cap,
        0.6251f * cap, 1e30f, -1e30f, 60f * cap};
    System.arraycopy(special, 0, x, 0, Math.min(special.length, x.length));
    float[] expected = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      expected[i] = (float) (cap * Math.tanh((double) x[i] / cap));
    }
    try (NDManager s = m.newSubManager()) {
      NDArray in = s.create(x, new Shape(rows, n));
      float[] got = CpuKernels.softcapInPlace(in, cap).toFloatArray();
      for (int i = 0; i < x.length; i++) {
        float tol = 4 * Math.ulp(expected[i]) + 1e-30f;
        assertTrue(Math.abs(got[i] - expected[i]) <= tol, "x = " + x[i] + ": expected "
            + expected[i] + " but was " + got[i]);
      }
    }
  }

  /**
   * The tanh GELU in place (GPT-2's gelu_new) against its definition in double, ½x(1 +
   * tanh(√(2/π)(x + 0.044715x³))), over both tails and zero, rows with and without a scalar tail.
   */
  @ParameterizedTest(name = "{0} rows of {1}")
  @CsvSource({"1, 3072", "5, 37", "64, 512"})
  void geluTanhInPlaceMatchesItsDefinition(int rows, int n) {
    SplittableRandom r = new SplittableRandom(rows * 23L + n);
    float[] x = random(r, rows * n, 12.0);
    x[0] = 0f;
    x[1] = -40f;
    float[] expected = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      double y = Math.sqrt(2 / Math.PI) * (x[i] + 0.044715 * x[i] * x[i] * x[i]);
      expected[i] = (float) (0.5 * x[i] * (1 + Math.tanh(y)));
    }
    try (NDManager s = m.newSubManager()) {
      NDArray in = s.create(x, new Shape(rows, n));
      NDArray out = CpuKernels.geluTanhInPlace(in);
      assertTrue(out == in, "in place");
      close(expected, out.toFloatArray(), "gelu_tanh");
    }
  }

  /**
   * gelu_tanh(gate)·up (GeGLU: Gemma's gelu_pytorch_tanh) against its definition in double,
   * ½g(1 + tanh(√(2/π)(g + 0.044715g³)))·u, gates far into both tails and near zero; and against
   * the layer-by-layer path's libtorch ops ({@link Activation#GELU_TANH}) on the same rows.
   */
  @ParameterizedTest(name = "{0} rows of {1}")
  @CsvSource({"1, 2048", "4, 21", "64, 512", "3, 16"})
  void geluTanhGatingMatchesItsDefinition(int rows, int n) {
    SplittableRandom r = new SplittableRandom(rows * 19L + n);
    float[] gu = random(r, rows * 2 * n, 12.0);
    gu[0] = 1e-4f; // near zero, where ½(1 + tanh) is ½ and σ(2y) must say so too
    gu[1] = -30f; // far into the negative tail: a tiny product, not NaN or a sign flip
    float[] expected = new float[rows * n];
    for (int i = 0; i < rows; i++) {
      for (int c = 0; c < n; c++) {
        double g = gu[i * 2 * n + c];
        double y = Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g);
        expected[i * n + c] = (float) (0.5 * g * (1 + Math.tanh(y)) * gu[i * 2 * n + n + c]);
      }
    }
    try (NDManager s = m.newSubManager()) {
      NDArray in = s.create(gu, new Shape(rows, 2L * n));
      NDArray out = CpuKernels.geluTanhMul(in);
      assertArrayEquals(new long[] {rows, n}, out.getShape().getShape());
      close(expected, out.toFloatArray(), "gelu_tanh(gate)·up");
      NDList halves = in.split(new long[] {n}, 1);
      NDArray ops = Activation.GELU_TANH.apply(halves.get(0)).mul(halves.get(1));
      float[] want = ops.toFloatArray();
      float[] got = out.toFloatArray();
      for (int i = 0; i < want.length; i++) { // libtorch's 1 + tanh cancels in the far tail
        float tol = 2e-6f * Math.max(1f, Math.abs(want[i]) + Math.abs(gu[i / n * 2 * n + n
            + i % n]));
        assertTrue(Math.abs(want[i] - got[i]) <= tol,
            "element " + i + ": libtorch's ops " + want[i] + ", the kernel " + got[i]);
      }
    }
  }

  /** LayerNorm of a sum against its definition in double, with and without a second addend. */
  @ParameterizedTest(name = "{0} rows of {1}")
  @CsvSource({"1, 384", "3, 37", "300, 384", "5, 8"})
  void layerNormOfASumMatchesItsDefinition(int rows, int n) {
    SplittableRandom r = new SplittableRandom(rows * 71L + n);
    float[] x = random(r, rows * n, 4.0);
    float[] y = random(r, rows * n, 4.0);
    float[] w = random(r, n, 2.0);
    float[] b = random(r, n, 1.0);
    float eps = 1e-12f;
    for (boolean sum : new boolean[] {false, true}) {
      float[] expected = new float[x.length];
      for (int i = 0; i < rows; i++) {
        double mean = 0;
        for (int c = 0; c < n; c++) {
          mean += x[i * n + c] + (sum ? y[i * n + c] : 0.0);
        }
        mean /= n;
        double var = 0;
        for (int c = 0; c < n; c++) {
          double d = x[i * n + c] + (sum ? y[i * n + c] : 0.0) - mean;
          var += d * d;
        }
        double inv = 1 / Math.sqrt(var / n + eps);
        for (int c = 0; c < n; c++) {
          double v = x[i * n + c] + (sum ? y[i * n + c] : 0.0);
          expected[i * n + c] = (float) ((v - mean) * inv * w[c] + b[c]);
        }
      }
      try (NDManager s = m.newSubManager()) {
        NDArray out = CpuKernels.addLayerNorm(s.create(x, new Shape(rows, n)),
            sum ? s.create(y, new Shape(rows, n)) : null, s.create(w), s.create(b), eps);
        assertArrayEquals(new long[] {rows, n}, out.getShape().getShape());
        close(expected, out.toFloatArray(), "LayerNorm, sum " + sum);
      }
    }
  }

  /** GELU (erf form) in place against its definition in double, over ±8 and odd widths. */
  @ParameterizedTest(name = "{0} rows of {1}")
  @CsvSource({"1, 1536", "3, 37", "64, 512"})
  void geluMatchesItsDefinitionInPlace(int rows, int n) {
    SplittableRandom r = new SplittableRandom(rows * 29L + n);
    float[] x = random(r, rows * n, 8.0);
    float[] expected = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      expected[i] = (float) (0.5 * x[i] * (1 + erf(x[i] / Math.sqrt(2))));
    }
    try (NDManager s = m.newSubManager()) {
      NDArray a = s.create(x, new Shape(rows, n));
      NDArray out = CpuKernels.geluInPlace(a);
      assertTrue(out == a, "in place");
      close(expected, a.toFloatArray(), "GELU");
    }
  }

  /** erf in double: its Maclaurin series to |z| ≤ 5 (terms below 1e-17), ±1 beyond (1 − 1.5e-12). */
  private static double erf(double z) {
    if (Math.abs(z) > 5) {
      return Math.signum(z);
    }
    double term = z;
    double sum = z;
    for (int k = 1; k < 200 && Math.abs(term) > 1e-17; k++) {
      term *= -z * z / k;
      sum += term / (2 * k + 1);
    }
    return 2 / Math.sqrt(Math.PI) * sum;
  }

  @ParameterizedTest
  @CsvSource({"1, 7", "5, 768", "33, 20"})
  void rowsAreGatheredBitForBitAndABadIdIsRefused(int count, int width) {
    SplittableRandom r = new SplittableRandom(count * 31L + width);
    int v = 50;
    float[] t = random(r, v * width, 2);
    long[] ids = r.longs(count, 0, v).toArray();
    try (NDManager s = m.newSubManager()) {
      NDArray table = s.create(t, new Shape(v, width));
      assertTrue(CpuKernels.gathers(table));
      float[] got = CpuKernels.rows(table, s.create(ids), s).toFloatArray();
      for (int i = 0; i < count; i++) {
        float[] want = java.util.Arrays.copyOfRange(t, (int) ids[i] * width,
            (int) (ids[i] + 1) * width);
        assertArrayEquals(want, java.util.Arrays.copyOfRange(got, i * width, (i + 1) * width),
            "row " + i + " (id " + ids[i] + ")");
      }
      ids[count - 1] = v; // one past the end
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> CpuKernels.rows(table, s.create(ids), s));
      assertTrue(e.getMessage().contains("id " + v), e.getMessage());
    }
  }
}
