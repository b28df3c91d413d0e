package dev.llmbatch.engine.model.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.embed.EmbeddingService;
import dev.llmbatch.engine.embed.PoolingChoice;
import dev.llmbatch.engine.embed.TokenBudgetBatcher;
import dev.llmbatch.engine.embed.TokenEncoder;
import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.KvCache;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.Pooling;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.runtime.NativeTests;
import dev.llmbatch.engine.runtime.PackedGemm;
import dev.llmbatch.engine.testing.TinyDecoders;
import dev.llmbatch.engine.testing.TinyEmbedders;
import dev.llmbatch.flavor.safetensors.DType;
import dev.llmbatch.flavor.safetensors.SafetensorsFile;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The decoder stack as an embedding encoder: its last-token final-norm state is the one the LM head
 * reads (so head × state reproduces {@link DecoderModel#step}'s logits, and the shared reference
 * Llama's transformers logits), batches equal single runs, pooling + normalisation, and bare
 * {@code *Model} checkpoints.
 */
class DecoderEmbedderTest {
  /** One thread: the test machine is shared. */
  static final LoadOptions CPU1 = new LoadOptions("cpu", ComputeDtype.FP32, 1);

  @TempDir
  Path tmp;

  /** 11 tokens: longer than the tiny Mistral/Phi-3/Gemma2 sliding windows (4–6). */
  static final int[] TOKENS = {5, 17, 3, 88, 42, 42, 0, 95, 61, 7, 30};

  @ParameterizedTest
  @ValueSource(strings = {"llama", "mistral", "qwen2", "qwen3", "phi3", "gemma", "gemma2"})
  void lastTokenStateTimesLmHeadIsStepLogits(String type) throws Exception {
    Path dir = TinyDecoders.write(type, tmp.resolve(type));
    float[] logits;
    try (CausalLm lm = Architectures.loadCausalLm(dir, CPU1);
        KvCache cache = lm.allocateCache(1, 16)) {
      logits = lm.step(cache, List.of(new StepInput(0, 0, TOKENS)))[0];
    }
    JsonNode config = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
    try (Encoder emb = Architectures.loadEncoder(dir, CPU1)) {
      assertTrue(emb instanceof DecoderEmbedder, type + " loads as a decoder embedder");
      float[] h = emb.embed(List.of(TOKENS), Pooling.LASTTOKEN, false)[0];
      float[][] last = emb.lastHiddenState(List.of(TOKENS))[0];
      assertEquals(TOKENS.length, last.length);
      assertClose(h, last[TOKENS.length - 1], 1e-6, type + " lasttoken = last hidden row");
      boolean tied = config.path("tie_word_embeddings").asBoolean(false);
      float[][] head = matrix(dir.resolve("model.safetensors"),
          tied ? "model.embed_tokens.weight" : "lm_head.weight");
      double cap = config.path("final_logit_softcapping").asDouble(0);
      float[] ours = new float[head.length];
      for (int v = 0; v < head.length; v++) {
        double dot = 0;
        for (int d = 0; d < h.length; d++) {
          dot += head[v][d] * (double) h[d];
        }
        ours[v] = (float) (cap > 0 ? cap * Math.tanh(dot / cap) : dot);
      }
      assertClose(logits, ours, 1e-4, type + " lm_head · h vs step logits");
    }
  }

  @Test
  void batchOfMixedLengthsEqualsOneAtATime() {
    Path dir = TinyDecoders.write("qwen3", tmp.resolve("q"));
    List<int[]> rows = List.of(new int[] {9}, new int[] {1, 2, 3}, TOKENS,
        new int[] {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4}, new int[] {70, 71});
    try (Encoder emb = DecoderEmbedder.load(dir, CPU1)) {
      for (Pooling p : Pooling.values()) {
        float[][] batched = emb.embed(rows, p, false);
        for (int i = 0; i < rows.size(); i++) {
          float[] single = emb.embed(List.of(rows.get(i)), p, false)[0];
          assertClose(single, batched[i], 1e-5, p + " row " + i);
        }
      }
      float[][][] states = emb.lastHiddenState(rows);
      for (int i = 0; i < rows.size(); i++) {
        assertEquals(rows.get(i).length, states[i].length);
        float[][] single = emb.lastHiddenState(List.of(rows.get(i)))[0];
        for (int p = 0; p < single.length; p++) {
          assertClose(single[p], states[i][p], 1e-5, "row " + i + " position " + p);
        }
      }
      // a causal stack: the state at position p is the last-token state of the prefix 0..p
      float[] prefix = emb.embed(List.of(new int[] {5, 17, 3}), Pooling.LASTTOKEN, false)[0];
      assertClose(prefix, states[2][2], 1e-5, "prefix state");
    }
  }

  /**
   * A BF16 embedding model's linears stay plain (libtorch's sgemm) unless the AMX tile units can
   * take them; there they are packed for the tiles (where /proc/cpuinfo lists them), and the
   * embeddings agree with the plain linears' to float32 accuracy, batched or one at a time.
   */
  @Test
  void aBf16EmbedderGoesToTheAmxTilesWhereTheCpuHasThemAndAgreesWithPlainLinears() {
    Path dir = TinyDecoders.write(tmp.resolve("bf16"),
        TinyDecoders.config("qwen3", TinyDecoders.VOCAB, 256), 8,
        DType.BF16);
    boolean amx = NativeTests.amxExpected() && PackedGemm.gathersRows();
    List<int[]> rows = List.of(TOKENS, new int[] {9}, new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
        11, 12, 13, 14, 15, 16, 17, 18, 19, 20});
    float[][] plain;
    System.setProperty("llmbatch.amx", "false");
    long before = PackedGemm.packed();
    try (Encoder emb = DecoderEmbedder.load(dir, CPU1)) {
      assertEquals(before, PackedGemm.packed(),
          "without the tiles an embedder's linears stay plain");
      plain = emb.embed(rows, Pooling.LASTTOKEN, true);
    } finally {
      System.clearProperty("llmbatch.amx");
    }
    long tiles = PackedGemm.amxPacked();
    try (Encoder emb = DecoderEmbedder.load(dir, CPU1)) {
      long packed = PackedGemm.amxPacked() - tiles;
      assertEquals(amx, packed > 0, "linears on the AMX tiles: " + packed);
      float[][] got = emb.embed(rows, Pooling.LASTTOKEN, true);
      for (int i = 0; i < rows.size(); i++) {
        assertClose(plain[i], got[i], 2e-6, "row " + i);
        assertClose(got[i], emb.embed(List.of(rows.get(i)), Pooling.LASTTOKEN, true)[0], 1e-5,
            "row " + i + " alone"); // as batchOfMixedLengthsEqualsOneAtATime
      }
    }
  }

  @Test
  void lastTokenPoolingWithNormalizeGivesUnitVectorsOfTheLastState() {
    Path dir = TinyDecoders.write("qwen2", tmp.resolve("q2"));
    List<int[]> rows = List.of(TOKENS, new int[] {3, 1}, new int[] {60});
    try (Encoder emb = DecoderEmbedder.load(dir, CPU1)) {
      float[][] unit = emb.embed(rows, Pooling.LASTTOKEN, true);
      float[][][] states = emb.lastHiddenState(rows);
      for (int i = 0; i < rows.size(); i++) {
        float[] last = states[i][states[i].length - 1];
        double n = 0;
        for (float x : last) {
          n += x * (double) x;
        }
        double norm = 0;
        for (int d = 0; d < last.length; d++) {
          norm += unit[i][d] * (double) unit[i][d];
          assertEquals(last[d] / Math.sqrt(n), unit[i][d], 1e-6, "row " + i + " dim " + d);
        }
        assertEquals(1.0, Math.sqrt(norm), 1e-5, "row " + i + " is a unit vector");
      }
      // different inputs, different vectors: the pooling reads the row's own last token
      assertFalse(cosine(unit[0], unit[1]) > 0.9999, "rows 0 and 1 differ");
      EngineException e = assertThrows(EngineException.class,
          () -> emb.poolerOutput(List.of(TOKENS)));
      assertTrue(e.getMessage().contains("no pooler"), e.getMessage());
      e = assertThrows(EngineException.class,
          () -> emb.embed(List.of(new int[] {TinyDecoders.VOCAB}), Pooling.LASTTOKEN, true));
      assertTrue(e.getMessage().contains("outside the vocabulary"), e.getMessage());
      assertEquals(TinyDecoders.VOCAB, emb.spec().vocabSize());
      assertEquals(48, emb.spec().hiddenSize());
    }
  }

  /**
   * EmbeddingService over a decoder with no sentence-transformers files: last-token + L2 by
   * default, rows batched by token budget and returned in input order, each the embedder's vector
   * of the tokenizer's ids (which end with an appended "EOS", id 95, as Qwen3-Embedding's do).
   */
  @Test
  void embeddingServiceDefaultsToLastTokenForDecoders() {
    Path dir = TinyDecoders.write("qwen3", tmp.resolve("svc"));
    TokenEncoder tok = text -> {
      int[] ids = new int[text.length() + 1];
      for (int i = 0; i < text.length(); i++) {
        ids[i] = 1 + text.charAt(i) % 90;
      }
      ids[text.length()] = 95;
      return ids;
    };
    List<String> texts = List.of("hello", "a longer input, which sorts first", "xy", "hello!");
    try (DecoderEmbedder emb = DecoderEmbedder.load(dir, CPU1)) {
      EmbeddingService svc = EmbeddingService.create(emb, tok, dir,
          PoolingChoice.Overrides.NONE, new TokenBudgetBatcher(40, 8));
      assertEquals(Pooling.LASTTOKEN, svc.choice().pooling());
      assertTrue(svc.choice().normalize());
      EmbeddingService.Result r = svc.embed(texts, null);
      assertTrue(r.stats().batches() > 1, "the token budget splits the rows");
      for (int i = 0; i < texts.size(); i++) {
        int[] ids = tok.encode(texts.get(i));
        float[] want = emb.embed(List.of(ids), Pooling.LASTTOKEN, true)[0];
        assertClose(want, r.rows().get(i).embedding(), 1e-5, "row " + i);
        assertEquals(ids.length, r.rows().get(i).promptTokens());
      }
    }
  }

  @Test
  void bareModelCheckpointWithoutPrefixOrLmHeadLoads() throws Exception {
    Path causal = TinyDecoders.write("qwen3", tmp.resolve("causal"));
    Path bare = TinyEmbedders.bareModel(causal, tmp.resolve("bare"), "Qwen3Model");
    try (SafetensorsFile f = SafetensorsFile.open(bare.resolve("model.safetensors"))) {
      assertTrue(f.tensors().containsKey("embed_tokens.weight"));
      assertTrue(f.tensors().containsKey("norm.weight"));
      assertFalse(f.tensors().keySet().stream().anyMatch(n -> n.startsWith("model.")
          || n.startsWith("lm_head")));
    }
    List<int[]> rows = List.of(TOKENS, new int[] {2, 3, 4});
    try (Encoder a = DecoderEmbedder.load(causal, CPU1);
        Encoder b = DecoderEmbedder.load(bare, CPU1)) {
      assertEquals("Qwen3Model", b.spec().architecture());
      assertEquals("Qwen3ForCausalLM", a.spec().architecture());
      // no LM head: the same matmul parameters either way
      assertEquals(a.spec().matmulParameters(), b.spec().matmulParameters());
      float[][] va = a.embed(rows, Pooling.LASTTOKEN, true);
      float[][] vb = b.embed(rows, Pooling.LASTTOKEN, true);
      for (int i = 0; i < rows.size(); i++) {
        assertClose(va[i], vb[i], 0, "row " + i);
      }
    }
  }

  @Test
  void refusesWhatItCannotRunFaithfully() throws Exception {
    Path gpt2 = TinyDecoders.write("gpt2", tmp.resolve("gpt2"));
    EngineException e = assertThrows(EngineException.class,
        () -> DecoderEmbedder.load(gpt2, CPU1));
    assertTrue(e.getMessage().contains("model_type 'gpt2'") && e.getMessage().contains("qwen3"),
        e.getMessage());
    Path bidi = TinyDecoders.write("qwen2", tmp.resolve("bidi"));
    ObjectMapper json = new ObjectMapper();
    ObjectNode c = (ObjectNode) json.readTree(bidi.resolve("config.json").toFile());
    c.put("is_causal", false);
    json.writeValue(bidi.resolve("config.json").toFile(), c);
    e = assertThrows(EngineException.class, () -> DecoderEmbedder.load(bidi, CPU1));
    assertTrue(e.getMessage().contains("is_causal"), e.getMessage());
    // a causal LM checkpoint with its lm_head missing still fails to load as an LM
    Path bare = TinyEmbedders.bareModel(TinyDecoders.write("qwen2", tmp.resolve("q")),
        tmp.resolve("qbare"), "Qwen2Model");
    e = assertThrows(EngineException.class, () -> Architectures.loadCausalLm(bare, CPU1));
    assertTrue(e.getMessage().contains("lm_head.weight"), e.getMessage());
  }

  /**
   * The shared reference Llama (transformers 4.46.3): lm_head · (our last-token state) equals
   * transformers' full last-position logits of prompt p5_long_en, so the state itself is HF's
   * final-norm hidden state.
   */
  @Test
  void referenceLlamaLastStateReproducesTransformersLogits() throws Exception {
    Path fixture = LlamaReferenceTest.sharedDir().resolve("reference/llama");
    JsonNode goldens = new ObjectMapper().readTree(fixture.resolve("goldens.json").toFile());
    int[] ids = null;
    for (JsonNode p : goldens.get("prompts")) {
      if (p.get("id").asText().equals("p5_long_en")) {
        ids = LlamaReferenceTest.ints(p.get("input_ids"));
      }
    }
    assertTrue(ids != null && ids.length > 100, "p5_long_en is a long prompt");
    float[] gold = vector(fixture.resolve("full_logits.safetensors"), "p5_long_en.last_logits");
    float[][] head = matrix(fixture.resolve("mlflow/model/model.safetensors"), "lm_head.weight");
    try (Encoder emb = Architectures.loadEncoder(fixture.resolve("mlflow/model"), CPU1)) {
      // batched with a short row, so padding is exercised too
      float[] h = emb.embed(List.of(ids, new int[] {9707}), Pooling.LASTTOKEN, false)[0];
      double worst = 0;
      for (int v = 0; v < head.length; v++) {
        double dot = 0;
        for (int d = 0; d < h.length; d++) {
          dot += head[v][d] * (double) h[d];
        }
        worst = Math.max(worst, Math.abs(dot - gold[v]));
      }
      assertTrue(worst <= 1e-4, "max |Δ logit| " + worst);
    }
  }

  static float[][] matrix(Path file, String name) {
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      long[] shape = f.tensors().get(name).shape();
      FloatBuffer fb = f.data(name).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
      float[][] out = new float[(int) shape[0]][(int) shape[1]];
      for (float[] row : out) {
        fb.get(row);
      }
      return out;
    }
  }

  static float[] vector(Path file, String name) {
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      FloatBuffer fb = f.data(name).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
      float[] out = new float[fb.remaining()];
      fb.get(out);
      return out;
    }
  }

  static void assertClose(float[] want, float[] got, double tol, String what) {
    assertEquals(want.length, got.length, what + " length");
    for (int i = 0; i < want.length; i++) {
      assertEquals(want[i], got[i], tol, what + " [" + i + "]");
    }
  }

  static double cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * (double) b[i];
      na += a[i] * (double) a[i];
      nb += b[i] * (double) b[i];
    }
    return dot / Math.sqrt(na * nb);
  }
}
