package dev.llmbatch.engine.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.llmbatch.engine.model.layers.Linear;
import dev.llmbatch.engine.testing.TinyDecoders;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The packed GEMM this JVM chose (the engine's AVX-512 kernel where built, else oneMKL's) against
 * libtorch's own {@code linear} on the same numbers: every row count a step produces (1, a few,
 * oneMKL's pack height 16, odd, hundreds), with and without bias, 3-D and non-contiguous inputs;
 * every edge of the engine's layout; and the linear's ownership of its weight.
 */
class PackedGemmTest {
  private static NDManager m;

  @BeforeAll
  static void start() {
    TorchRuntime.engine(2);
    m = NDManager.newBaseManager(TorchRuntime.device("cpu"), "PyTorch");
    NativeTests.requireBuilt(PackedGemm.available(), PackedGemm.unavailableReason(),
        "packed GEMM");
  }

  @AfterAll
  static void stop() {
    m.close();
  }

  private static NDArray random(NDManager s, SplittableRandom r, long... shape) {
    Shape sh = new Shape(shape);
    float[] v = new float[(int) sh.size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return s.create(v, sh);
  }

  private static void assertClose(NDArray expected, NDArray actual, String what) {
    assertEquals(expected.getShape(), actual.getShape(), what);
    float[] e = expected.toFloatArray();
    float[] a = actual.toFloatArray();
    for (int i = 0; i < e.length; i++) {
      // k ≤ 300 products of |x|,|w| ≤ 1 in float32: different summation orders stay within 1e-4
      assertEquals(e[i], a[i], 1e-4f + 1e-5f * Math.abs(e[i]), what + " element " + i);
    }
  }

  /**
   * The implementation is the one asked for: oneMKL's under {@code llmbatch.packedGemm=mkl} (the
   * build runs this class a second time so), else the engine's own wherever it is built.
   */
  @Test
  void theImplementationAskedForIsTheOneThatPacks() {
    boolean mkl = "mkl".equalsIgnoreCase(System.getProperty("llmbatch.packedGemm"));
    assertEquals(mkl || !CpuKernels.gemmAvailable() ? "oneMKL"
        : "llm-batch " + CpuKernels.gemmIsa(),
        PackedGemm.implementation());
  }

  /**
   * The engine's GEMM is built for the CPU's widest vectors, AVX-512 where /proc/cpuinfo lists
   * it, else AVX2, unless {@code llmbatch.cpuIsa=avx2} asks for AVX2 (the build runs this class
   * and the stack's tests a second time so, so the AVX2 kernels are checked on AVX-512 hosts too);
   * an ISA it does not know is refused, naming the setting and the values it takes.
   */
  @Test
  void theKernelsAreBuiltForTheVectorsAskedFor() {
    assumeTrue(CpuKernels.gemmAvailable(), "the engine's GEMM is built here");
    boolean avx2 = "avx2".equalsIgnoreCase(System.getProperty("llmbatch.cpuIsa"));
    assertEquals(avx2 || !NativeTests.cpuHas("avx512f") ? "AVX2" : "AVX-512",
        CpuKernels.gemmIsa());
    String before = System.getProperty("llmbatch.cpuIsa");
    try {
      System.setProperty("llmbatch.cpuIsa", "avx10");
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          CpuKernels::flags);
      assertTrue(e.getMessage().contains("LLM_BATCH_CPU_ISA") && e.getMessage().contains("avx10")
          && e.getMessage().contains("native") && e.getMessage().contains("avx2"), e.getMessage());
      System.setProperty("llmbatch.cpuIsa", "AVX2");
      assertTrue(CpuKernels.flags().contains("-mno-avx512f"), "avx2: no AVX-512 instruction");
    } finally {
      if (before == null) {
        System.clearProperty("llmbatch.cpuIsa");
      } else {
        System.setProperty("llmbatch.cpuIsa", before);
      }
    }
  }

  @Test
  void packedProductsMatchLibtorchLinearForEveryRowCount() {
    SplittableRandom r = new SplittableRandom(5);
    for (boolean withBias : new boolean[] {false, true}) {
      try (NDManager s = m.newSubManager()) {
        NDArray w = random(s, r, 256, 300); // (out, in), above the packing threshold
        NDArray b = withBias ? random(s, r, 256) : null;
        Linear packed = Linear.packable(w.duplicate(), b == null ? null : b.duplicate());
        for (int rows : new int[] {1, 3, 16, 33, 200}) {
          NDArray x = random(s, r, rows, 300);
          Shape before = x.getShape();
          NDArray expected = x.getNDArrayInternal().linear(x, w, b).singletonOrThrow();
          assertClose(expected, packed.apply(x), rows + " rows, bias " + withBias);
          assertEquals(before, x.getShape(), "the input's shape is left as it was");
        }
        // (B, T, in) and a transposed (non-contiguous) view
        NDArray x3 = random(s, r, 2, 5, 300);
        assertClose(x3.getNDArrayInternal().linear(x3, w, b).singletonOrThrow(),
            packed.apply(x3), "3-D input");
        NDArray xt = random(s, r, 300, 7).transpose();
        assertClose(xt.getNDArrayInternal().linear(xt, w, b).singletonOrThrow(),
            packed.apply(xt), "non-contiguous input");
      }
    }
  }

  /**
   * The engine's packed layout has 48-column panels (three 16-lane vectors, the last panel padded
   * and masked), 8-row micro-blocks, 128-row tiles and 768-deep chunks: widths on each side of
   * every vector and panel edge, row counts on each side of a block and a tile, and depths of one,
   * odd, and several chunks, with and without bias; each also with a residual to start from
   * (a decoder block's sum), contiguous or a transposed view.
   */
  @Test
  void everyPanelEdgeRowBlockAndDepthChunkMatchesLibtorch() {
    SplittableRandom r = new SplittableRandom(8);
    int[][] shapes = {{1, 1}, {15, 7}, {16, 64}, {17, 300}, {31, 5}, {33, 300}, {47, 1700},
        {48, 769}, {49, 64}, {130, 300}, {97, 1537}};
    for (int[] nk : shapes) {
      int n = nk[0];
      int k = nk[1];
      for (boolean withBias : new boolean[] {false, true}) {
        try (NDManager s = m.newSubManager()) {
          NDArray w = random(s, r, n, k);
          NDArray b = withBias ? random(s, r, n) : null;
          try (PackedGemm p = PackedGemm.pack(w, b)) {
            for (int rows : new int[] {1, 2, 6, 7, 8, 9, 17, 129}) {
              NDArray x = random(s, r, rows, k);
              NDArray expected = x.getNDArrayInternal().linear(x, w, b).singletonOrThrow();
              // k ≤ 1,700 products of |x|,|w| ≤ 1 in float32, summed in different orders
              float tol = 1e-4f * Math.max(1, k / 300f);
              String what = "(" + n + ", " + k + ") weight, " + rows + " rows, bias " + withBias;
              assertClose(expected, p.apply(x), tol, what);
              NDArray residual = rows % 2 == 0 ? random(s, r, rows, n)
                  : random(s, r, n, rows).transpose(); // a strided view
              float[] before = residual.toFloatArray();
              assertClose(expected.add(residual), p.apply(x, residual), tol, what + ", residual");
              assertArrayEquals(before, residual.toFloatArray(), "the residual is not written");
            }
          }
        }
      }
    }
  }

  private static void assertClose(NDArray expected, NDArray actual, float tol, String what) {
    assertEquals(expected.getShape(), actual.getShape(), what);
    float[] e = expected.toFloatArray();
    float[] a = actual.toFloatArray();
    for (int i = 0; i < e.length; i++) {
      assertEquals(e[i], a[i], tol + 1e-5f * Math.abs(e[i]), what + ", element " + i);
    }
  }

  /** A weight of bfloat16 values, as a BF16 checkpoint's loads: each value rounded to one. */
  private static NDArray bf16Valued(NDManager s, SplittableRandom r, long... shape) {
    float[] v = random(s, r, shape).toFloatArray();
    for (int i = 0; i < v.length; i++) {
      v[i] = Float.intBitsToFloat(TinyDecoders.bf16Bits(v[i]) << 16);
    }
    return s.create(v, new Shape(shape));
  }

  /** A weight of IEEE half values, as an FP16 checkpoint's loads. */
  private static NDArray f16Valued(NDManager s, SplittableRandom r, long... shape) {
    float[] v = random(s, r, shape).toFloatArray();
    for (int i = 0; i < v.length; i++) {
      v[i] = WeightsDtypeTest.fromHalf(TinyDecoders.f16Bits(v[i]));
    }
    return s.create(v, new Shape(shape));
  }

  private static NDArray valued(String held, NDManager s, SplittableRandom r, long... shape) {
    return held.equals("bfloat16") ? bf16Valued(s, r, shape) : f16Valued(s, r, shape);
  }

  private static PackedGemm packAsFloat32(NDArray w, NDArray b) {
    System.setProperty("llmbatch.packed16bit", "false");
    try {
      return PackedGemm.pack(w, b);
    } finally {
      System.clearProperty("llmbatch.packed16bit");
    }
  }

  /**
   * The engine's GEMM holds a weight of bfloat16 (or IEEE half) values in those 16 bits and
   * widens them exactly, so its products are the float32 panels' bit for bit: across each
   * layout's edges (bfloat16 with AVX-512: a column pair's halves, the third vector's row pairs,
   * chunks that must split on even rows; both: the last panel's mask, depths of one to several
   * chunks, odd ones for float16) and every row block (one and two rows take their own kernels
   * with AVX2), with bias and residual. A single value the format cannot hold, and the switch
   * turned off, keep float32 panels; bfloat16 values at an odd depth never take the bfloat16
   * layout (which pairs rows with AVX-512), and their products stay exact. (With AMX
   * turned off: its tiles' products are float32-accurate, not bit for bit, {@link
   * #onAmxBfloat16WeightsGiveFloat32AccurateProducts}.)
   */
  @ParameterizedTest
  @ValueSource(strings = {"bfloat16", "float16"})
  void sixteenBitValuedWeightsPackIn16BitsAndGiveTheFloat32ProductsBitForBit(String held) {
    assumeTrue(CpuKernels.gemmAvailable()
        && !"mkl".equalsIgnoreCase(System.getProperty("llmbatch.packedGemm")),
        "16-bit panels are the engine's own GEMM's");
    System.setProperty("llmbatch.amx", "false");
    try {
      sixteenBitValuedWeightsBitForBit(held);
    } finally {
      System.clearProperty("llmbatch.amx");
    }
  }

  private void sixteenBitValuedWeightsBitForBit(String held) {
    SplittableRandom r = new SplittableRandom(9);
    int[][] shapes = held.equals("bfloat16")
        ? new int[][] {{1, 2}, {15, 8}, {17, 300}, {33, 64}, {47, 1700}, {48, 768}, {49, 64},
            {130, 300}, {97, 1538}}
        : new int[][] {{1, 1}, {15, 7}, {17, 301}, {49, 64}, {97, 1537}};
    long before = PackedGemm.halfPacked();
    for (int[] nk : shapes) {
      int n = nk[0];
      int k = nk[1];
      for (boolean withBias : new boolean[] {false, true}) {
        try (NDManager s = m.newSubManager()) {
          NDArray w = valued(held, s, r, n, k);
          NDArray b = withBias ? random(s, r, n) : null;
          try (PackedGemm half = PackedGemm.pack(w, b); PackedGemm full = packAsFloat32(w, b)) {
            assertEquals(held, half.held(), "(" + n + ", " + k + ") " + held + " values");
            assertEquals("float32", full.held(), "LLM_BATCH_PACKED_16BIT=0 packs float32");
            for (int rows : new int[] {1, 2, 6, 7, 8, 9, 17, 129}) {
              String what = "(" + n + ", " + k + ") weight, " + rows + " rows, bias " + withBias;
              NDArray x = random(s, r, rows, k);
              assertArrayEquals(full.apply(x).toFloatArray(), half.apply(x).toFloatArray(), what);
              NDArray residual = random(s, r, rows, n);
              assertArrayEquals(full.apply(x, residual).toFloatArray(),
                  half.apply(x, residual).toFloatArray(), what + ", residual");
            }
          }
        }
      }
    }
    assertEquals(before + 2L * shapes.length, PackedGemm.halfPacked());
    try (NDManager s = m.newSubManager()) {
      NDArray odd = bf16Valued(s, r, 16, 301);
      try (PackedGemm p = PackedGemm.pack(odd, null); PackedGemm full = packAsFloat32(odd, null)) {
        assertTrue(!p.held().equals("bfloat16"), "an odd depth has no row pairs");
        NDArray x = random(s, r, 3, 301);
        assertArrayEquals(full.apply(x).toFloatArray(), p.apply(x).toFloatArray(), "odd depth");
      }
      NDArray w = valued(held, s, r, 16, 300);
      float[] v = w.toFloatArray();
      v[v.length / 2] = Math.nextUp(v[v.length / 2]); // one value neither format can hold
      NDArray almost = s.create(v, w.getShape());
      try (PackedGemm p = PackedGemm.pack(almost, null)) {
        assertEquals("float32", p.held(), "one float32 value keeps the whole weight float32");
        NDArray x = random(s, r, 3, 300);
        assertClose(x.getNDArrayInternal().linear(x, almost, null).singletonOrThrow(), p.apply(x),
            "float32 panels");
      }
      assertTrue(PackedGemm.packsIn16Bits(w));
      assertFalse(PackedGemm.packsIn16Bits(almost));
      assertTrue(Linear.packable(valued(held, s, r, 256, 256), null).packsIn16Bits());
      assertFalse(new Linear(valued(held, s, r, 256, 256), null).packsIn16Bits(),
          "a plain linear never packs");
      assertFalse(Linear.packable(valued(held, s, r, 256, 256), null)
          .scaledInputs(random(s, r, 256)).packsIn16Bits(), "a folded scale makes it float32");
    }
  }

  /**
   * A SwiGLU gate|up weight packed as column pairs gives {@code silu(gate) · up} bit for bit as
   * the fused kernel makes it from the plain product, and a GeGLU one {@code gelu_tanh(gate) · up}
   * as its kernel does: in all three layouts, halves that are and
   * are not whole panels or whole vectors (the scalar tail), with bias, over one and several row
   * blocks; the pair refuses the plain product and row reads, and a packable linear marked as a
   * pair gates through {@link Linear#swiGlu}.
   */
  @ParameterizedTest
  @ValueSource(strings = {"float32", "bfloat16", "float16"})
  void aSwiGluPairGivesTheGatedProductBitForBit(String held) {
    assumeTrue(PackedGemm.packsSwiGlu(), "SwiGLU pairs are the engine's own GEMM's");
    SplittableRandom r = new SplittableRandom(held.hashCode());
    int[][] shapes = {{1, 2}, {15, 64}, {16, 300}, {40, 8}, {48, 768}, {49, 1538}, {100, 64},
        {130, 300}};
    for (int[] sk : shapes) {
      int split = sk[0];
      int k = sk[1];
      for (boolean withBias : new boolean[] {false, true}) {
        PackedGemm.Gate gate = PackedGemm.Gate.values()[(split + (withBias ? 1 : 0)) % 2];
        try (NDManager s = m.newSubManager()) {
          NDArray w = held.equals("float32") ? random(s, r, 2L * split, k)
              : valued(held, s, r, 2L * split, k);
          NDArray b = withBias ? random(s, r, 2L * split) : null;
          try (PackedGemm plain = PackedGemm.pack(w, b);
              PackedGemm pair = gate == PackedGemm.Gate.SILU ? PackedGemm.packSwiGlu(w, b, split)
                  : PackedGemm.packGlu(w, b, split, gate)) {
            assertEquals(plain.held(), pair.held(), "the same values pack the same way");
            assertEquals(split, pair.swiGluSplit());
            assertEquals(gate, pair.gate());
            assertTrue(pair.bytes() >= plain.bytes(), "each half pads its own last panel");
            for (int rows : new int[] {1, 7, 8, 33, 129, 257}) {
              String what = held + " " + gate + " (" + split + " | " + split + ", " + k + "), "
                  + rows + " rows, bias " + withBias;
              NDArray x = random(s, r, rows, k).mul(3); // gates well into the gates' tails
              NDArray want = gate == PackedGemm.Gate.SILU ? CpuKernels.siluMul(plain.apply(x))
                  : CpuKernels.geluTanhMul(plain.apply(x));
              NDArray got = pair.swiGlu(x);
              assertEquals(new Shape(rows, split), got.getShape(), what);
              assertArrayEquals(want.toFloatArray(), got.toFloatArray(), what);
            }
            NDArray x = random(s, r, 2, k);
            assertThrows(IllegalStateException.class, () -> pair.apply(x), "no plain product");
            assertThrows(IllegalStateException.class, () -> plain.swiGlu(x), "not a pair");
            assertThrows(IllegalStateException.class,
                () -> pair.rows(s.create(new long[] {0}), s), "no rows");
          }
        }
      }
    }
    try (NDManager s = m.newSubManager()) {
      NDArray w = random(s, r, 512, 256);
      NDArray x = random(s, r, 5, 256);
      NDArray want = CpuKernels.siluMul(x.getNDArrayInternal().linear(x, w, null)
          .singletonOrThrow());
      Linear pair = Linear.packable(w.duplicate(), null).asSwiGlu(256);
      assertClose(want, pair.swiGlu(x), "a linear marked as a pair, against libtorch's product");
      NDArray wantGe = CpuKernels.geluTanhMul(x.getNDArrayInternal().linear(x, w, null)
          .singletonOrThrow());
      Linear gePair = Linear.packable(w.duplicate(), null).asGlu(256, PackedGemm.Gate.GELU_TANH);
      assertClose(wantGe, gePair.swiGlu(x), "a linear marked as a GeGLU pair");
      assertEquals(null, Linear.packable(w.duplicate(), null).prepack().swiGlu(x),
          "a plain linear leaves the gating to its caller");
      assertThrows(IllegalStateException.class, () -> pair.asSwiGlu(256), "packed already");
      assertThrows(IllegalStateException.class,
          () -> Linear.packable(w.duplicate(), null).asSwiGlu(200), "not two halves of 200");
      assertThrows(IllegalArgumentException.class,
          () -> PackedGemm.packSwiGlu(w, null, 255), "not two halves of 255");
    }
  }

  /**
   * Rows read back from the engine's packed copy are the weight's rows bit for bit, in every
   * layout (float32 and float16 at an odd depth, bfloat16 in AVX-512's row pairs or AVX2's rows
   * and, where the CPU has them, for the AMX tiles at a depth that is not a multiple of their 32),
   * across panel edges and the edge of an AVX2 split panel's halves (columns 23 and 24), in any order, repeats included; an id outside the weight is refused by
   * name.
   */
  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void rowsReadBackFromAPackedWeightAreItsRowsBitForBit(boolean amx) {
    assumeTrue(PackedGemm.gathersRows(), "rows are read back from the engine's own layout");
    SplittableRandom r = new SplittableRandom(10);
    System.setProperty("llmbatch.amx", Boolean.toString(amx));
    try (NDManager s = m.newSubManager()) {
      for (NDArray w : new NDArray[] {random(s, r, 97, 301), bf16Valued(s, r, 97, 300),
          f16Valued(s, r, 97, 301)}) {
        float[] all = w.toFloatArray();
        int k = (int) w.getShape().get(1);
        long[] ids = {0, 15, 16, 23, 24, 31, 32, 47, 48, 49, 71, 72, 96, 5, 5, 95};
        try (PackedGemm p = PackedGemm.pack(w, null)) {
          assertTrue(amx || !p.held().contains("AMX"), "llmbatch.amx=false: no AMX layout");
          float[] got = p.rows(s.create(ids), s).toFloatArray();
          for (int i = 0; i < ids.length; i++) {
            for (int c = 0; c < k; c++) {
              assertEquals(Float.floatToRawIntBits(all[(int) ids[i] * k + c]),
                  Float.floatToRawIntBits(got[i * k + c]),
                  "row " + ids[i] + " column " + c + " (" + p.held() + " panels)");
            }
          }
          IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
              () -> p.rows(s.create(new long[] {3, 97}), s));
          assertTrue(e.getMessage().contains("id 97") && e.getMessage().contains("97 rows"),
              e.getMessage());
        }
      }
    } finally {
      System.clearProperty("llmbatch.amx");
    }
  }

  /**
   * Where the CPU has AMX, a weight of bfloat16 values is packed for its tiles (the default), and
   * the products, from x split into three bfloat16 parts, are float32-accurate: within 2.5e-7 of
   * Σ|x·w| (plus the bias and residual) of the exact sum, where a float32 FMA loop's error is up
   * to ~2e-7 of it and two parts alone (16 bits of x) reach ~6e-7. Across the tiles' edges: one
   * to 257 rows (16-row blocks, a ragged last one), depths of 2 to 2048 (padded to 32), the last
   * panel's mask, bias and residual; each row's product bit for bit the same alone as among the
   * others (a request's tokens never depend on what shares its step). The SwiGLU pair and row
   * reads run in the other tests of this class with the same layout. On a CPU without AMX, or with
   * it turned off, the test asserts the AVX-512 layout is kept, its products within the bound a
   * float32 FMA loop meets at these depths (2e-6 of Σ|x·w|: at 2048, 2.5e-7 fails it).
   */
  @Test
  void onAmxBfloat16WeightsGiveFloat32AccurateProducts() {
    assumeTrue(CpuKernels.gemmAvailable()
        && !"mkl".equalsIgnoreCase(System.getProperty("llmbatch.packedGemm")),
        "AMX panels are the engine's own GEMM's");
    SplittableRandom r = new SplittableRandom(13);
    boolean amx = NativeTests.amxExpected();
    double tol = amx ? 2.5e-7 : 2e-6;
    int[][] shapes = {{1, 2}, {15, 8}, {17, 30}, {33, 34}, {47, 300}, {48, 768}, {49, 64},
        {130, 300}, {97, 2048}};
    for (int[] nk : shapes) {
      int n = nk[0];
      int k = nk[1];
      try (NDManager s = m.newSubManager()) {
        NDArray w = bf16Valued(s, r, n, k);
        NDArray b = random(s, r, n);
        try (PackedGemm p = PackedGemm.pack(w, b)) {
          assertEquals(null, CpuKernels.amxRefusal(), "where the CPU has tiles, Linux grants them");
          assertEquals(amx ? "bfloat16 on AMX" : "bfloat16", p.held(),
              "(" + n + ", " + k + "): AMX " + (amx ? "listed" : "absent") + " in /proc/cpuinfo");
          float[] wv = w.toFloatArray();
          float[] bv = b.toFloatArray();
          for (int rows : new int[] {1, 7, 15, 16, 17, 33, 129, 257}) {
            NDArray x = random(s, r, rows, k).mul(4);
            NDArray residual = random(s, r, rows, n);
            float[] xv = x.toFloatArray();
            float[] rv = residual.toFloatArray();
            float[] plain = p.apply(x).toFloatArray();
            float[] summed = p.apply(x, residual).toFloatArray();
            for (int i : new int[] {0, rows / 2, rows - 1}) { // a row's product is its own
              float[] alone = p.apply(x.get(i + ":" + (i + 1))).toFloatArray();
              for (int j = 0; j < n; j++) {
                assertEquals(Float.floatToRawIntBits(plain[i * n + j]),
                    Float.floatToRawIntBits(alone[j]), "row " + i + " of " + rows + " alone, ["
                        + j + "]: a step's other rows must not change it");
              }
            }
            for (int i = 0; i < rows; i++) {
              for (int j = 0; j < n; j++) {
                double exact = bv[j];
                double size = Math.abs(bv[j]);
                for (int c = 0; c < k; c++) {
                  double t = (double) xv[i * k + c] * wv[j * k + c];
                  exact += t;
                  size += Math.abs(t);
                }
                String what = "(" + n + ", " + k + ") weight, " + rows + " rows: [" + i + ", " + j
                    + "]";
                assertEquals(exact, plain[i * n + j], tol * size + 1e-30, what);
                double res = rv[i * n + j];
                assertEquals(exact + res, summed[i * n + j], tol * (size + Math.abs(res)) + 1e-30,
                    what + ", residual");
              }
            }
          }
        }
      }
    }
  }

  @Test
  void aPackableLinearFreesItsWeightOncePackedAndAPlainOrSmallOneKeepsIt() {
    SplittableRandom r = new SplittableRandom(6);
    try (NDManager s = m.newSubManager()) {
      NDArray x = random(s, r, 4, 256);
      Linear own = Linear.packable(random(s, r, 256, 256), null);
      assertEquals(256 * 256, own.weightParameters());
      own.apply(x);
      IllegalStateException e = assertThrows(IllegalStateException.class, own::weight);
      assertTrue(e.getMessage().contains("packed"), e.getMessage());
      assertEquals(256 * 256, own.weightParameters(), "the size is still known");

      NDArray w = random(s, r, 256, 256);
      Linear plain = new Linear(w, null); // an encoder's: libtorch's linear, weight kept
      plain.apply(x);
      assertEquals(w, plain.weight());
      NDArray small = random(s, r, 8, 256); // below the packing threshold: kept and unpacked
      Linear tiny = Linear.packable(small, null);
      tiny.apply(x);
      assertEquals(small, tiny.weight());
    }
  }

  /** A weight whose float32 memory spans over 2 GiB (one Java buffer's limit) is not packed. */
  @Test
  void weightsOverTwoGibibytesStayUnpacked() {
    assertTrue(PackedGemm.fits(128_256, 4_096), "Llama 3 8B's LM head, 2.10 GB");
    assertFalse(PackedGemm.fits(152_064, 3_584), "Qwen2.5 7B's LM head, 2.18 GB");
    assertFalse(PackedGemm.fits(256_000, 3_072), "Gemma 7B's tied table, 3.1 GB");
  }

  @Test
  void aClosedPackedWeightRefusesUse() {
    SplittableRandom r = new SplittableRandom(7);
    NDArray x;
    PackedGemm p;
    try (NDManager s = m.newSubManager()) {
      x = random(m, r, 2, 16);
      p = PackedGemm.pack(random(s, r, 4, 16), null);
      assertEquals(4, p.outFeatures());
      assertEquals(16, p.inFeatures());
      p.apply(x);
      assertThrows(IllegalArgumentException.class, () -> p.apply(random(m, r, 2, 15)),
          "a row of the wrong width is refused, never read past");
      assertThrows(IllegalArgumentException.class,
          () -> PackedGemm.pack(random(s, r, 4, 16), random(s, r, 5)), "a bias of the wrong size");
      p.close();
    }
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.apply(x));
    assertTrue(e.getMessage().contains("after close"), e.getMessage());
    p.close(); // idempotent
  }
}
