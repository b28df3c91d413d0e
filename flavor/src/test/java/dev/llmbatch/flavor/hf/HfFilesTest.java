package dev.llmbatch.flavor.hf;

import static dev.llmbatch.flavor.testing.Messages.assertOneLine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfFilesTest {
  @TempDir Path tmp;

  @Test
  void generationConfigEosIntOrList() {
    FlavorFixtures.writeText(tmp.resolve("a/generation_config.json"),
        "{\"eos_token_id\": 7, \"do_sample\": false, \"top_k\": 20, \"max_length\": 100,"
            + " \"repetition_penalty\": 1.1, \"transformers_version\": \"4.46.3\"}");
    GenerationConfig a = GenerationConfig.read(tmp.resolve("a")).orElseThrow();
    assertEquals(List.of(7), a.eosTokenIds());
    assertEquals(false, a.doSample());
    assertEquals(20, a.topK());
    assertEquals(100, a.maxLength());
    assertEquals(1.1, a.repetitionPenalty());
    assertNull(a.temperature());
    assertEquals("4.46.3", a.extra().get("transformers_version"));
    FlavorFixtures.writeText(tmp.resolve("b/generation_config.json"),
        "{\"eos_token_id\": [151645, 151643], \"temperature\": 0.6, \"top_p\": 0.95}");
    GenerationConfig b = GenerationConfig.read(tmp.resolve("b")).orElseThrow();
    assertEquals(List.of(151645, 151643), b.eosTokenIds());
    assertEquals(0.95, b.topP());
    assertTrue(GenerationConfig.read(tmp.resolve("none")).isEmpty());
  }

  @Test
  void generationConfigBadValueNamesKey() {
    Path f = FlavorFixtures.writeText(tmp.resolve("c/generation_config.json"), "{\"top_k\": \"many\"}");
    FlavorException e = assertThrows(FlavorException.class, () -> GenerationConfig.read(tmp.resolve("c")));
    assertOneLine(e.getMessage(), f.toString(), "'top_k'");
  }

  @Test
  void tokenizerConfigTemplatesAndAddedTokenObjects() {
    FlavorFixtures.writeText(tmp.resolve("t/tokenizer_config.json"), "{"
        + "\"chat_template\": [{\"name\": \"default\", \"template\": \"D\"},"
        + " {\"name\": \"tool_use\", \"template\": \"T\"}],"
        + "\"bos_token\": {\"__type\": \"AddedToken\", \"content\": \"<s>\", \"lstrip\": false},"
        + "\"eos_token\": \"</s>\", \"pad_token\": null, \"model_max_length\": 1000000000000000019884624838656,"
        + "\"add_bos_token\": true, \"add_eos_token\": false,"
        + "\"added_tokens_decoder\": {\"0\": {\"content\": \"<unk>\", \"special\": true}}}");
    TokenizerConfig c = TokenizerConfig.read(tmp.resolve("t")).orElseThrow();
    assertEquals("D", c.chatTemplate().orElseThrow());
    assertEquals("T", c.chatTemplate("tool_use").orElseThrow());
    assertEquals("<s>", c.bosToken());
    assertEquals("</s>", c.eosToken());
    assertNull(c.padToken());
    assertNull(c.modelMaxLength(), "1e30 means no limit");
    assertEquals(true, c.addBosToken());
    assertEquals(false, c.addEosToken());
    assertEquals(new TokenizerConfig.AddedToken("<unk>", true), c.addedTokens().get(0));
  }

  @Test
  void tokenizerConfigStringTemplateAndJinjaFile() {
    FlavorFixtures.writeText(tmp.resolve("s/tokenizer_config.json"), "{\"chat_template\": \"X\"}");
    assertEquals("X", TokenizerConfig.read(tmp.resolve("s")).orElseThrow().chatTemplate().orElseThrow());
    FlavorFixtures.writeText(tmp.resolve("j/tokenizer_config.json"), "{\"eos_token\": \"e\"}");
    FlavorFixtures.writeText(tmp.resolve("j/chat_template.jinja"), "{{ messages }}");
    assertEquals("{{ messages }}",
        TokenizerConfig.read(tmp.resolve("j")).orElseThrow().chatTemplate().orElseThrow());
    FlavorFixtures.writeText(tmp.resolve("n/tokenizer_config.json"), "{}");
    assertFalse(TokenizerConfig.read(tmp.resolve("n")).orElseThrow().hasChatTemplate());
  }

  @Test
  void realBertTokenizerFiles() {
    Path dir = FlavorFixtures.bertTokenizer(tmp.resolve("bert"));
    TokenizerConfig c = TokenizerConfig.read(dir).orElseThrow();
    assertEquals("BertTokenizer", c.tokenizerClass());
    assertEquals("[UNK]", c.unkToken());
    SpecialTokensMap m = SpecialTokensMap.read(dir).orElseThrow();
    assertEquals("[CLS]", m.clsToken());
    assertEquals("[SEP]", m.sepToken());
    assertEquals("[MASK]", m.maskToken());
  }

  @Test
  void configKeysAndMissingModelType() {
    FlavorFixtures.writeText(tmp.resolve("c/config.json"),
        "{\"model_type\": \"qwen2\", \"architectures\": [\"Qwen2ForCausalLM\"], \"dtype\": \"bfloat16\","
            + " \"hidden_size\": 64, \"rms_norm_eps\": 1e-6}");
    HfConfig c = HfConfig.read(tmp.resolve("c"));
    assertEquals("Qwen2ForCausalLM", c.architecture().orElseThrow());
    assertEquals("bfloat16", c.torchDtype());
    assertEquals(64, c.getLong("hidden_size", 0));
    assertEquals(1e-6, c.getDouble("rms_norm_eps", 0));
    assertEquals(7, c.getLong("num_key_value_heads", 7));
    Path bad = FlavorFixtures.writeText(tmp.resolve("d/config.json"), "{\"hidden_size\": 4}");
    assertOneLine(assertThrows(FlavorException.class, () -> HfConfig.read(tmp.resolve("d")))
        .getMessage(), bad.toString(), "'model_type'", "save_pretrained");
    Path broken = FlavorFixtures.writeText(tmp.resolve("e/config.json"), "{\"a\": ");
    assertOneLine(assertThrows(FlavorException.class, () -> HfConfig.read(tmp.resolve("e")))
        .getMessage(), broken.toString(), "not valid JSON", "line 1");
  }

  @Test
  void sentenceTransformersModulePathsStayInside() {
    FlavorFixtures.writeText(tmp.resolve("m/modules.json"),
        "[{\"idx\": 1, \"name\": \"1\", \"path\": \"../../x\", \"type\": \"sentence_transformers.models.Pooling\"}]");
    assertOneLine(assertThrows(FlavorException.class,
        () -> SentenceTransformers.read(tmp.resolve("m"))).getMessage(), "'../../x'",
        "outside the model folder");
  }

  @Test
  void sentenceTransformersClsWithoutNormalize() {
    FlavorFixtures.writeText(tmp.resolve("p/modules.json"),
        "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"},"
            + "{\"idx\": 1, \"name\": \"1\", \"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}]");
    FlavorFixtures.writeText(tmp.resolve("p/1_Pooling/config.json"),
        "{\"word_embedding_dimension\": 384, \"pooling_mode_cls_token\": true}");
    SentenceTransformers st = SentenceTransformers.read(tmp.resolve("p")).orElseThrow();
    assertEquals(PoolingMode.CLS, st.poolingMode().orElseThrow());
    assertFalse(st.normalize());
    assertEquals(384, st.wordEmbeddingDimension());
    assertNull(st.maxSeqLength());
  }
}
