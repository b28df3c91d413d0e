package dev.llmbatch.engine.model.decoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.KvCache;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.runtime.CpuKernels;
import dev.llmbatch.engine.runtime.PackedGemm;
import dev.llmbatch.engine.testing.TinyDecoders;
import dev.llmbatch.flavor.safetensors.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A CPU step with no libtorch array made ({@link DecoderModel#runsDirectSteps}) runs the same
 * kernels in the same order as the array path, so its logits are the array path's bit for bit:
 * prefill chunks of different lengths beside decode rows at different positions, slots out of
 * order, the step's thread's buffers growing and then reused for smaller steps, over a tied head
 * (embeddings read from its packed copy) and an untied one (from the table), with q/k norms
 * (Qwen3), a sliding window (Mistral) and fused projections (Phi-3). Models that scale the
 * embeddings (Gemma), add learned positions (GPT-2) or cap the logits (Gemma 2) keep the array
 * path, as do models whose LM head is too small to pack (test-sized ones).
 */
class DirectStepTest {
  static final LoadOptions TWO_THREADS = new LoadOptions("cpu", ComputeDtype.FP32, 2);
  // an LM head of 1100 × 64 (over 2^16 values) packs as it loads, as every real model's does; a
  // smaller one stays on libtorch's linear and its model on the array path
  static final int VOCAB = 1100;

  @TempDir Path tmp;

  @Test
  void aHeadTooSmallToPackKeepsTheArrayPath() {
    Path dir = TinyDecoders.write(tmp.resolve("small"),
        TinyDecoders.config("llama", TinyDecoders.VOCAB, 64), 3);
    try (CausalLm m = Architectures.loadCausalLm(dir, TWO_THREADS)) {
      assertEquals(false, ((DecoderModel) m).runsDirectSteps());
    }
  }

  /**
   * An untied float32 table the kernels gather from is copied off the checkpoint's file mapping
   * onto the heap once; a BF16 checkpoint's, already widened into memory of its own as it loaded,
   * is used as it is (copying it again only doubled its memory for a moment). Both step alike.
   */
  @ParameterizedTest
  @CsvSource({"F32, 1", "BF16, 0"})
  void onlyATableReadInPlaceFromTheFileIsCopied(DType dtype, long copies) {
    if (!CpuKernels.available() || !PackedGemm.gathersRows()) {
      return; // (no native gather here: the table is never copied)
    }
    Map<String, Object> c = TinyDecoders.config("llama", VOCAB, 64);
    c.put("tie_word_embeddings", false);
    Path dir = TinyDecoders.write(tmp.resolve("table-" + dtype), c, 3, dtype);
    long before = DecoderModel.tablesCopied();
    try (CausalLm m = Architectures.loadCausalLm(dir, TWO_THREADS)) {
      assertEquals(copies, DecoderModel.tablesCopied() - before, dtype + " table copies");
      assertTrue(((DecoderModel) m).runsDirectSteps(), dtype + ": direct steps");
      try (KvCache cache = m.allocateCache(2, 16)) {
        float[][] logits = m.step(cache, List.of(new StepInput(0, 0, new int[] {5, VOCAB - 1}),
            new StepInput(1, 0, new int[] {0})));
        assertEquals(2, logits.length);
        assertTrue(logits[0][7] != 0 && Float.isFinite(logits[1][VOCAB - 1]), "logits computed");
      }
    }
  }

  @ParameterizedTest
  @CsvSource({"llama, true", "llama, false", "qwen3, false", "mistral, false", "qwen2, true",
      "phi3, false", "gemma, true", "gemma2, true", "gpt2, true"})
  void logitsEqualTheArrayPathsBitForBit(String type, boolean tied) {
    if (!CpuKernels.available() || !PackedGemm.gathersRows()) {
      return; // (no native stack here: the array path is the only one; NativeTests covers it)
    }
    Map<String, Object> c = TinyDecoders.config(type, VOCAB, 64);
    c.put("tie_word_embeddings", tied);
    if (type.equals("mistral")) {
      c.put("sliding_window", 5);
    }
    Path dir = TinyDecoders.write(tmp.resolve(type + tied), c, 3);
    boolean expectDirect = !type.startsWith("gemma") && !type.equals("gpt2");
    List<float[][]> direct = run(dir, true, expectDirect);
    System.setProperty("llmbatch.directStep", "false");
    List<float[][]> arrays;
    try {
      arrays = run(dir, false, false);
    } finally {
      System.clearProperty("llmbatch.directStep");
    }
    assertEquals(arrays.size(), direct.size());
    for (int s = 0; s < arrays.size(); s++) {
      for (int r = 0; r < arrays.get(s).length; r++) {
        assertArrayEquals(arrays.get(s)[r], direct.get(s)[r], 0f,
            type + (tied ? " tied" : " untied") + ": step " + s + ", row " + r);
      }
    }
  }

  /** Logits of a prefill of mixed chunks, then decode steps (the last ones smaller). */
  private static List<float[][]> run(Path dir, boolean directOn, boolean expectDirect) {
    List<float[][]> out = new ArrayList<>();
    try (CausalLm m = Architectures.loadCausalLm(dir, TWO_THREADS)) {
      DecoderModel d = (DecoderModel) m;
      assertEquals(expectDirect, d.runsDirectSteps(),
          "direct steps " + (directOn ? "on" : "off") + " for " + d.config().architecture());
      try (KvCache cache = m.allocateCache(4, 24)) {
        // slots 2, 0, 3: chunks of 7, 3 and 1 tokens
        out.add(m.step(cache, List.of(new StepInput(2, 0, tokens(7, 1)),
            new StepInput(0, 0, tokens(3, 2)), new StepInput(3, 0, tokens(1, 3)))));
        // slot 1 starts while the others decode
        out.add(m.step(cache, List.of(new StepInput(0, 3, new int[] {5}),
            new StepInput(1, 0, tokens(9, 4)), new StepInput(2, 7, new int[] {6}),
            new StepInput(3, 1, new int[] {7}))));
        for (int t = 0; t < 4; t++) {
          List<StepInput> in = new ArrayList<>();
          in.add(new StepInput(1, 9 + t, new int[] {10 + t}));
          if (t < 2) {
            in.add(new StepInput(2, 8 + t, new int[] {20 + t}));
          }
          float[][] rows = new float[in.size()][VOCAB];
          out.add(m.step(cache, in, rows));
        }
        // an id outside the vocabulary is refused, naming it, on either path
        EngineException e = assertThrows(EngineException.class, () -> m.step(cache,
            List.of(new StepInput(0, 4, new int[] {VOCAB + 5}))));
        assertEquals(true, e.getMessage().contains("id " + (VOCAB + 5)),
            e.getMessage());
      }
    }
    return out;
  }

  private static int[] tokens(int n, int seed) {
    int[] t = new int[n];
    for (int i = 0; i < n; i++) {
      t[i] = (seed * 31 + i * 17) % VOCAB;
    }
    return t;
  }
}
