package dev.llmbatch.engine.model.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.DecoderSpec;
import dev.llmbatch.engine.model.KvCache;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.runtime.PackedGemm;
import dev.llmbatch.engine.testing.TinyDecoders;
import dev.llmbatch.flavor.safetensors.DType;
import dev.llmbatch.flavor.safetensors.SafetensorsWriter;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every architecture on a tiny random checkpoint: the ragged, cached step must give the logits of a
 * plain full forward whatever the batch, slot or chunking. Tolerance: |Δ logit| ≤ 2e-5 × max(1,
 * max |logit|) (FP32; only summation order differs, and Gemma's scaled embeddings make logits ~10²).
 */
class DecoderArchitecturesTest {
  static final float TOL = 2e-5f;
  static final LoadOptions ONE_THREAD = new LoadOptions("cpu", ComputeDtype.FP32, 1);

  @TempDir Path tmp;

  static List<String> types() {
    return TinyDecoders.MODEL_TYPES;
  }

  static int[] tokens(long seed, int n) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] t = new int[n];
    for (int i = 0; i < n; i++) {
      t[i] = r.nextInt(TinyDecoders.VOCAB);
    }
    return t;
  }

  /** Logits of the last token of {@code seq}, from one prefill into a fresh slot 0. */
  static float[] alone(CausalLm m, int[] seq) {
    try (KvCache c = m.allocateCache(1, 32)) {
      return m.step(c, List.of(new StepInput(0, 0, seq)))[0];
    }
  }

  static void close(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    float worst = 0;
    float scale = 1;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
      scale = Math.max(scale, Math.abs(expected[i]));
    }
    assertTrue(worst <= TOL * scale, what + ": max |Δ| = " + worst + " at max |logit| " + scale);
  }

  @ParameterizedTest
  @MethodSource("types")
  void cachedDecodeBatchingSlotsAndChunksAllGiveTheFullForward(String type) {
    cachedStepsGiveTheFullForward(type, TinyDecoders.write(type, tmp.resolve(type)));
  }

  /**
   * The same at hidden size 256, where the projections are big enough to be packed (PackedGemm) on
   * the CPU (model.layers.Linear): the packed path through every step shape (prefill, decode rows,
   * mixed chunks, placeholders) against the same model's full forward.
   */
  @ParameterizedTest
  @MethodSource("types")
  void theSameHoldsWithPackedLinears(String type) {
    cachedStepsGiveTheFullForward(type,
        TinyDecoders.write(type, tmp.resolve(type + "-256"), TinyDecoders.VOCAB, 256, 3));
  }

  static List<org.junit.jupiter.params.provider.Arguments> typesAndHalfDtypes() {
    List<org.junit.jupiter.params.provider.Arguments> all = new ArrayList<>();
    for (String type : TinyDecoders.MODEL_TYPES) {
      for (DType d : new DType[] {DType.BF16, DType.F16}) {
        all.add(org.junit.jupiter.params.provider.Arguments.of(type, d));
      }
    }
    return all;
  }

  /**
   * A BF16 checkpoint (what most published models are) or an FP16 one: where the engine's GEMM
   * packs, its linears are held in those 16 bits (no scale folded into them), through every step
   * shape, and its logits are the ones float32 panels give (packing as float32 folds the norms'
   * scales in, so only summation order differs).
   */
  @ParameterizedTest
  @MethodSource("typesAndHalfDtypes")
  void a16BitCheckpointDecodesFrom16BitPanelsAsFromFloat32Ones(String type, DType dtype) {
    var config = TinyDecoders.config(type, TinyDecoders.VOCAB, 256);
    Path dir = TinyDecoders.write(tmp.resolve(type + "-" + dtype), config, 4, dtype);
    long packed = PackedGemm.packed();
    long before = PackedGemm.halfPacked();
    cachedStepsGiveTheFullForward(type, dir);
    if (String.valueOf(PackedGemm.implementation()).startsWith("llm-batch")) {
      // every weight big enough to pack is packed in 16 bits: none was made float32 by a scale
      // folded into it
      assertTrue(PackedGemm.packed() > packed, type + ": some weight is packed");
      assertEquals(PackedGemm.packed() - packed, PackedGemm.halfPacked() - before,
          type + " " + dtype + ": weights packed in 16 bits, of all packed");
    }
    int[] seq = tokens(9, 11);
    float[] half;
    long atLoad = PackedGemm.packed();
    try (CausalLm m = Architectures.loadCausalLm(dir, ONE_THREAD)) {
      if (PackedGemm.available()) {
        assertTrue(PackedGemm.packed() > atLoad, type + ": the linears pack as the model loads,"
            + " not at its first step");
      }
      half = alone(m, seq);
    }
    System.setProperty("llmbatch.packed16bit", "false");
    try (CausalLm m = Architectures.loadCausalLm(dir, ONE_THREAD)) {
      long packedBefore = PackedGemm.halfPacked();
      close(alone(m, seq), half, type + " " + dtype + " 16-bit panels against float32 ones");
      assertEquals(packedBefore, PackedGemm.halfPacked(), "LLM_BATCH_PACKED_16BIT=0 is obeyed");
    } finally {
      System.clearProperty("llmbatch.packed16bit");
    }
  }

  /**
   * A tied LM head big enough to pack (vocab 512 × hidden 256) is packed where the engine's GEMM
   * can read rows back, and the token embeddings are then gathered from that packed copy (the
   * table held once): through every step shape, and, stored as FP32, BF16 or FP16, its logits are those
   * of an untied twin whose separate LM head holds the same table (whose embeddings come from the
   * table itself).
   */
  @ParameterizedTest
  @MethodSource("types")
  void aTiedHeadIsPackedOnceAndServesTheEmbeddingLookup(String type) throws IOException {
    for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16}) {
      var config = TinyDecoders.config(type, 512, 256);
      config.put("tie_word_embeddings", true);
      Path tied = TinyDecoders.write(tmp.resolve(type + "-tied-" + dtype), config, 6, dtype);
      cachedStepsGiveTheFullForward(type, tied, 512);
      try (CausalLm m = Architectures.loadCausalLm(tied, ONE_THREAD)) {
        assertEquals(PackedGemm.gathersRows(), ((DecoderModel) m).embedsFromHead(),
            type + ": the embeddings come from the packed head wherever it can serve them");
      }
      if (type.equals("gpt2")) {
        continue; // GPT-2's head is always the token table: there is no untied twin
      }
      Path untied = Files.createDirectories(tmp.resolve(type + "-untied-" + dtype));
      var untiedConfig = new java.util.LinkedHashMap<>(config);
      untiedConfig.put("tie_word_embeddings", false);
      new com.fasterxml.jackson.databind.ObjectMapper().writeValue(
          untied.resolve("config.json").toFile(), untiedConfig);
      var tensors = new java.util.LinkedHashMap<String, SafetensorsWriter.Tensor>();
      try (WeightFiles files = WeightFiles.open(tied)) {
        for (var t : files.tensors().values()) {
          java.nio.ByteBuffer b = files.data(t.name());
          byte[] bytes = new byte[b.remaining()];
          b.duplicate().get(bytes);
          tensors.put(t.name(), new SafetensorsWriter.Tensor(t.dtype(), t.shape(), bytes));
        }
      }
      tensors.put("lm_head.weight", tensors.get("model.embed_tokens.weight"));
      SafetensorsWriter.write(untied.resolve("model.safetensors"), tensors, Map.of());
      try (CausalLm a = Architectures.loadCausalLm(tied, ONE_THREAD);
          CausalLm b = Architectures.loadCausalLm(untied, ONE_THREAD)) {
        for (int[] seq : new int[][] {tokens(12, 9), tokens(13, 1)}) {
          close(alone(b, seq), alone(a, seq), type + " tied (" + dtype + ") vs untied twin");
        }
      }
    }
  }

  private static void cachedStepsGiveTheFullForward(String type, Path dir) {
    cachedStepsGiveTheFullForward(type, dir, TinyDecoders.VOCAB);
  }

  private static void cachedStepsGiveTheFullForward(String type, Path dir, int vocab) {
    try (CausalLm m = Architectures.loadCausalLm(dir, ONE_THREAD)) {
      DecoderSpec spec = m.spec();
      assertEquals(type, spec.modelType());
      assertEquals(vocab, spec.vocabSize());
      int[] a = tokens(1, 14);
      int[] b = tokens(2, 9);
      int[] c = tokens(3, 3);
      float[] fullA = alone(m, a);
      assertTrue(Arrays.stream(box(fullA)).distinct().count() > 10, "logits are not constant");
      try (KvCache cache = m.allocateCache(4, 32)) {
        // mixed lengths in one step, in slots other than 0, equal each sequence alone
        float[][] out = m.step(cache, List.of(new StepInput(3, 0, a), new StepInput(1, 0, b),
            new StepInput(2, 0, c)));
        close(fullA, out[0], type + " batched row a");
        close(alone(m, b), out[1], type + " batched row b");
        close(alone(m, c), out[2], type + " batched row c");
        // decode a one token at a time beside a prefill chunk of another sequence
        int[] more = tokens(4, 6);
        int[] d = tokens(5, 12);
        int posA = a.length;
        // the decode steps write into one set of logit rows, as GenerationEngine's steps do
        float[][] rows = {new float[spec.vocabSize()], new float[spec.vocabSize()]};
        for (int s = 0; s < more.length; s++) {
          List<StepInput> in = new ArrayList<>();
          in.add(new StepInput(3, posA, new int[] {more[s]}));
          if (s < 2) { // d arrives in two chunks of 6 while a decodes: prefill and decode mixed
            in.add(new StepInput(0, 6 * s, Arrays.copyOfRange(d, 6 * s, 6 * s + 6)));
          }
          float[][] r = m.step(cache, in, Arrays.copyOf(rows, in.size()));
          assertSame(rows[0], r[0], "the caller's row is filled, not a fresh one");
          posA++;
          int[] prefix = concat(a, Arrays.copyOf(more, s + 1));
          close(alone(m, prefix), r[0], type + " cached decode step " + s);
          if (s == 1) {
            close(alone(m, d), r[1], type + " chunked prefill");
          }
        }
        // decode in slots 3 and 1 only: slot 2 between them gets an inert placeholder row (the
        // step reads the cache as one view) that must leave c's cached keys untouched
        int x = tokens(6, 1)[0];
        int y = tokens(7, 1)[0];
        int z = tokens(8, 1)[0];
        float[][] gap = m.step(cache, List.of(new StepInput(3, posA, new int[] {x}),
            new StepInput(1, b.length, new int[] {y})));
        close(alone(m, concat(concat(a, more), new int[] {x})), gap[0], type + " gap row a");
        close(alone(m, concat(b, new int[] {y})), gap[1], type + " gap row b");
        float[] afterGap = m.step(cache, List.of(new StepInput(2, c.length, new int[] {z})))[0];
        close(alone(m, concat(c, new int[] {z})), afterGap, type + " slot beside a placeholder");
        // a slot is reused from position 0 by a new sequence: nothing of the old one leaks in
        float[] reused = m.step(cache, List.of(new StepInput(3, 0, c)))[0];
        close(alone(m, c), reused, type + " reused slot");
      }
    }
  }

  @Test
  void unsupportedModelTypeListsTheSupportedOnes() throws IOException {
    Files.createDirectories(tmp);
    Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"mamba\"}");
    EngineException e = assertThrows(EngineException.class,
        () -> Architectures.loadCausalLm(tmp, ONE_THREAD));
    assertTrue(e.getMessage().contains("'mamba'"), e.getMessage());
    for (String t : TinyDecoders.MODEL_TYPES) {
      assertTrue(e.getMessage().contains(t), e.getMessage());
    }
  }

  @Test
  void aMissingWeightIsNamedWithItsFile() throws IOException {
    Path dir = TinyDecoders.write("qwen2", tmp.resolve("q"));
    // rewrite the checkpoint without one bias
    var config = TinyDecoders.config("qwen2", TinyDecoders.VOCAB, 48);
    var shapes = new java.util.LinkedHashMap<>(TinyDecoders.shapes("qwen2", config));
    shapes.remove("model.layers.1.self_attn.k_proj.bias");
    TinyDecoders.writeSafetensors(dir.resolve("model.safetensors"), shapes, 1);
    EngineException e = assertThrows(EngineException.class,
        () -> Architectures.loadCausalLm(dir, ONE_THREAD));
    assertTrue(e.getMessage().contains("'model.layers.1.self_attn.k_proj.bias'")
        && e.getMessage().contains("model.safetensors"), e.getMessage());
  }

  @Test
  void slidingWindowAndSoftcapsAreWiredIn() throws IOException {
    // the same weights with the feature switched off in config.json: equal where the feature
    // cannot matter, different where it must
    for (String type : List.of("mistral", "gemma2")) {
      Path on = TinyDecoders.write(type, tmp.resolve(type + "-on"));
      Path off = Files.createDirectories(tmp.resolve(type + "-off"));
      Files.copy(on.resolve("model.safetensors"), off.resolve("model.safetensors"));
      var config = TinyDecoders.config(type, TinyDecoders.VOCAB, 48);
      config.put("sliding_window", 10_000);
      config.remove("final_logit_softcapping");
      config.put("attn_logit_softcapping", null);
      new com.fasterxml.jackson.databind.ObjectMapper().writeValue(
          off.resolve("config.json").toFile(), config);
      try (CausalLm a = Architectures.loadCausalLm(on, ONE_THREAD);
          CausalLm b = Architectures.loadCausalLm(off, ONE_THREAD)) {
        int[] longSeq = tokens(11, 12);
        float[] la = alone(a, longSeq);
        float[] lb = alone(b, longSeq);
        assertTrue(maxDiff(la, lb) > 1e-3, type + ": the window/caps changed nothing");
        if (type.equals("mistral")) { // window 5: a 4-token sequence never reaches it
          close(alone(b, Arrays.copyOf(longSeq, 4)), alone(a, Arrays.copyOf(longSeq, 4)),
              "mistral inside the window");
        }
      }
    }
  }

  private static float maxDiff(float[] x, float[] y) {
    float worst = 0;
    for (int i = 0; i < x.length; i++) {
      worst = Math.max(worst, Math.abs(x[i] - y[i]));
    }
    return worst;
  }

  @Test
  void gpt2LoadsWithoutTheTransformerPrefixToo() throws IOException {
    Path dir = TinyDecoders.write("gpt2", tmp.resolve("g"));
    var config = TinyDecoders.config("gpt2", TinyDecoders.VOCAB, 48);
    var shapes = new java.util.LinkedHashMap<String, long[]>();
    TinyDecoders.shapes("gpt2", config).forEach((k, v) -> shapes.put(k.substring(12), v));
    assertTrue(shapes.containsKey("wte.weight"), shapes.keySet().toString());
    TinyDecoders.writeSafetensors(dir.resolve("model.safetensors"), shapes, 3);
    try (CausalLm m = Architectures.loadCausalLm(dir, ONE_THREAD)) {
      float[] logits = alone(m, tokens(9, 5));
      assertEquals(TinyDecoders.VOCAB, logits.length);
      assertTrue(Float.isFinite(logits[0]) && logits[0] != logits[1]);
    }
  }

  @Test
  void stepRejectsBadInputsWithReasons() {
    Path dir = TinyDecoders.write("llama", tmp.resolve("l"));
    try (CausalLm m = Architectures.loadCausalLm(dir, ONE_THREAD);
        KvCache cache = m.allocateCache(2, 8)) {
      EngineException over = assertThrows(EngineException.class,
          () -> m.step(cache, List.of(new StepInput(0, 5, new int[] {1, 2, 3, 4}))));
      assertTrue(over.getMessage().contains("capacity 8"), over.getMessage());
      EngineException twice = assertThrows(EngineException.class, () -> m.step(cache,
          List.of(new StepInput(1, 0, new int[] {1}), new StepInput(1, 0, new int[] {2}))));
      assertTrue(twice.getMessage().contains("slot 1"), twice.getMessage());
      EngineException vocab = assertThrows(EngineException.class,
          () -> m.step(cache, List.of(new StepInput(0, 0, new int[] {TinyDecoders.VOCAB}))));
      assertTrue(vocab.getMessage().contains("token id " + TinyDecoders.VOCAB),
          vocab.getMessage());
      List<StepInput> one = List.of(new StepInput(0, 0, new int[] {1}));
      IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
          () -> m.step(cache, one, new float[2][TinyDecoders.VOCAB]));
      assertTrue(count.getMessage().contains("1 input(s) into 2 logit rows"), count.getMessage());
      IllegalArgumentException width = assertThrows(IllegalArgumentException.class,
          () -> m.step(cache, one, new float[1][TinyDecoders.VOCAB - 1]));
      assertTrue(width.getMessage().contains("float[" + TinyDecoders.VOCAB + "]"),
          width.getMessage());
    }
  }

  private static Float[] box(float[] v) {
    Float[] b = new Float[v.length];
    for (int i = 0; i < v.length; i++) {
      b[i] = v[i];
    }
    return b;
  }

  private static int[] concat(int[] x, int[] y) {
    int[] out = Arrays.copyOf(x, x.length + y.length);
    System.arraycopy(y, 0, out, x.length, y.length);
    return out;
  }
}
