package dev.llmbatch.flavor;

import static dev.llmbatch.flavor.testing.Messages.assertOneLine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.hf.HfCache;
import dev.llmbatch.flavor.hf.PoolingMode;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoggedModelTest {
  @TempDir Path tmp;

  private HfCache emptyCache() {
    return HfCache.at(tmp.resolve("empty-cache"));
  }

  @Test
  void pipelineLayout() {
    Path root = FlavorFixtures.pipelineChatModel(tmp.resolve("chat"));
    LoggedModel m = LoggedModel.open(root, emptyCache());
    assertEquals(Layout.PIPELINE, m.layout());
    assertEquals(root.resolve("model"), m.weightsDir());
    assertEquals(root.resolve("components/tokenizer"), m.tokenizerDir().orElseThrow());
    assertEquals("llama", m.config().modelType());
    assertEquals(List.of(2, 3), m.generationConfig().orElseThrow().eosTokenIds());
    assertTrue(m.tokenizerConfig().orElseThrow().hasChatTemplate());
    assertEquals("<|im_end|>", m.specialTokensMap().orElseThrow().eosToken());
    assertEquals(64, ((Number) m.modelConfig().get("max_new_tokens")).intValue());
    assertTrue(m.sentenceTransformers().isEmpty());
  }

  @Test
  void pipelineEmbeddingsWithSentenceTransformers() {
    Path root = FlavorFixtures.pipelineEmbeddingModel(tmp.resolve("emb"));
    LoggedModel m = LoggedModel.open(root.resolve("MLmodel"), emptyCache());
    assertEquals(Layout.PIPELINE, m.layout());
    assertEquals("bert", m.config().modelType());
    var st = m.sentenceTransformers().orElseThrow();
    assertEquals(PoolingMode.MEAN, st.poolingMode().orElseThrow());
    assertTrue(st.normalize());
    assertEquals(128, st.maxSeqLength());
    assertEquals(256L, m.tokenizerConfig().orElseThrow().modelMaxLength());
    assertFalse(m.tokenizerConfig().orElseThrow().hasChatTemplate());
  }

  @Test
  void checkpointLayoutFindsTokenizerInModelFolder() {
    Path root = FlavorFixtures.checkpointChatModel(tmp.resolve("ckpt"));
    LoggedModel m = LoggedModel.open(root, emptyCache());
    assertEquals(Layout.CHECKPOINT, m.layout());
    assertEquals(root.resolve("model"), m.tokenizerDir().orElseThrow());
  }

  @Test
  void referenceOnlyResolvesFromCacheSnapshot() {
    Path cache = tmp.resolve("hub");
    Path root = FlavorFixtures.referenceOnlyChatModel(tmp.resolve("ref"), cache);
    LoggedModel m = LoggedModel.open(root, HfCache.fromEnvironment(Map.of("HF_HUB_CACHE", cache.toString())));
    assertEquals(Layout.REFERENCE_ONLY, m.layout());
    Path snap = cache.resolve("models--acme--tiny-llama-chat/snapshots/" + FlavorFixtures.REVISION);
    assertEquals(snap, m.weightsDir());
    assertEquals(snap, m.tokenizerDir().orElseThrow());
    assertTrue(Files.isSymbolicLink(snap.resolve("config.json")), "fixture uses symlinks");
    assertEquals("llama", m.config().modelType());
    assertEquals(32, ((Number) m.modelConfig().get("max_new_tokens")).intValue());
  }

  @Test
  void referenceOnlyWithPlainCopiesInSnapshot() throws IOException {
    Path cache = tmp.resolve("hub");
    Path root = FlavorFixtures.referenceOnlyChatModel(tmp.resolve("ref"), cache);
    Path snap = cache.resolve("models--acme--tiny-llama-chat/snapshots/" + FlavorFixtures.REVISION);
    try (var s = Files.list(snap)) {
      for (Path link : s.toList()) {
        Path target = link.toRealPath();
        Files.delete(link);
        Files.copy(target, link);
      }
    }
    LoggedModel m = LoggedModel.open(root, HfCache.at(cache));
    assertEquals("llama", m.config().modelType());
    try (var w = m.openWeights()) {
      assertTrue(w.parameterCount() > 0);
    }
  }

  @Test
  void missingSnapshotNamesExactFolderAndFix() {
    Path root = FlavorFixtures.referenceOnlyChatModel(tmp.resolve("ref"), tmp.resolve("hub"));
    Path otherCache = tmp.resolve("other-hub");
    FlavorException e = assertThrows(FlavorException.class,
        () -> LoggedModel.open(root, HfCache.fromEnvironment(Map.of("HF_HOME", otherCache.toString()))));
    Path expected = otherCache.resolve("hub/models--acme--tiny-llama-chat/snapshots/" + FlavorFixtures.REVISION);
    assertOneLine(e.getMessage(), expected.toString(), "HF_HOME/hub", "llm-batch persist",
        "huggingface-cli download acme/tiny-llama-chat --revision " + FlavorFixtures.REVISION);
  }

  @Test
  void legacyPipelineLayout() {
    Path root = FlavorFixtures.legacyPipelineModel(tmp.resolve("legacy"));
    LoggedModel m = LoggedModel.open(root, emptyCache());
    assertEquals(Layout.LEGACY_PIPELINE, m.layout());
    assertEquals(root.resolve("pipeline"), m.weightsDir());
    assertEquals(Map.of("max_new_tokens", 20), m.modelConfig());
  }

  @Test
  void modelBinaryOutsideRootIsRefused() {
    Path root = FlavorFixtures.pipelineChatModel(tmp.resolve("evil"));
    rewriteMlmodel(root, "model_binary: model", "model_binary: ../../x");
    FlavorException e = assertThrows(FlavorException.class, () -> LoggedModel.open(root, emptyCache()));
    assertOneLine(e.getMessage(), "model_binary", "'../../x'", root.resolve("MLmodel").toString(),
        "outside the model folder", "MLflow writes 'model'");
  }

  @Test
  void absoluteModelBinaryIsRefused() {
    Path root = FlavorFixtures.pipelineChatModel(tmp.resolve("abs"));
    rewriteMlmodel(root, "model_binary: model", "model_binary: /etc");
    FlavorException e = assertThrows(FlavorException.class, () -> LoggedModel.open(root, emptyCache()));
    assertOneLine(e.getMessage(), "model_binary", "absolute path");
  }

  @Test
  void symlinkedModelBinaryLeavingRootIsRefused() throws IOException {
    Path outside = FlavorFixtures.pipelineChatModel(tmp.resolve("outside")).resolve("model");
    Path root = FlavorFixtures.pipelineChatModel(tmp.resolve("linked"));
    rewriteMlmodel(root, "model_binary: model", "model_binary: weights");
    Files.createSymbolicLink(root.resolve("weights"), outside);
    FlavorException e = assertThrows(FlavorException.class, () -> LoggedModel.open(root, emptyCache()));
    assertOneLine(e.getMessage(), "model_binary", "symlink");
  }

  @Test
  void peftAdaptorOutsideRootIsRefused() {
    Path root = FlavorFixtures.pipelineChatModel(tmp.resolve("peft"));
    rewriteMlmodel(root, "model_binary: model", "model_binary: model\n    peft_adaptor: ../peft");
    FlavorException e = assertThrows(FlavorException.class, () -> LoggedModel.open(root, emptyCache()));
    assertOneLine(e.getMessage(), "peft_adaptor", "'../peft'", "MLflow writes 'peft'");
  }

  @Test
  void componentFoldersStayInsideRoot() {
    Path root = FlavorFixtures.pipelineChatModel(tmp.resolve("comp"));
    rewriteMlmodel(root, "    - tokenizer\n", "    - tokenizer\n    - ../../../etc\n");
    LoggedModel m = LoggedModel.open(root, emptyCache());
    assertEquals(root.resolve("components/tokenizer"), m.componentDir("tokenizer").orElseThrow());
    assertTrue(m.componentDir("processor").isEmpty());
    FlavorException e = assertThrows(FlavorException.class, () -> m.componentDir("../../../etc"));
    assertOneLine(e.getMessage(), "components", "outside the model folder");
  }

  @Test
  void missingModelFolderSaysHowToFix() throws IOException {
    Path root = FlavorFixtures.pipelineChatModel(tmp.resolve("nomodel"));
    Files.move(root.resolve("model"), tmp.resolve("moved"));
    FlavorException e = assertThrows(FlavorException.class, () -> LoggedModel.open(root, emptyCache()));
    assertOneLine(e.getMessage(), "model_binary 'model'", "does not exist", "copy the complete");
  }

  @Test
  void noWeightsAnywhereIsExplained() {
    Path root = tmp.resolve("none");
    FlavorFixtures.writeText(root.resolve("MLmodel"),
        "flavors:\n  transformers:\n    task: text-generation\n    source_model_name: a/b\n");
    FlavorException e = assertThrows(FlavorException.class, () -> LoggedModel.open(root, emptyCache()));
    assertOneLine(e.getMessage(), "model_binary", "source_model_revision", "pipeline/",
        "save_pretrained=True");
  }

  @Test
  void noTransformersFlavorIsExplained() {
    Path root = tmp.resolve("sk");
    FlavorFixtures.writeText(root.resolve("MLmodel"), "flavors:\n  sklearn:\n    x: 1\n");
    FlavorException e = assertThrows(FlavorException.class, () -> LoggedModel.open(root, emptyCache()));
    assertOneLine(e.getMessage(), "flavors.transformers", "sklearn", "mlflow.transformers.log_model");
  }

  @Test
  void pickleOnlyModelIsRefusedWithConversionHint() throws IOException {
    Path root = FlavorFixtures.pipelineChatModel(tmp.resolve("pickle"));
    Files.delete(root.resolve("model/model.safetensors"));
    Files.write(root.resolve("model/pytorch_model.bin"), new byte[] {(byte) 0x80, 2, 'c'});
    LoggedModel m = LoggedModel.open(root, emptyCache());
    FlavorException e = assertThrows(FlavorException.class, m::openWeights);
    assertOneLine(e.getMessage(), root.resolve("model").toString(), "pytorch_model.bin",
        "pickle is never executed", "safe_serialization=True");
  }

  static void rewriteMlmodel(Path root, String from, String to) {
    try {
      Path f = root.resolve("MLmodel");
      String s = Files.readString(f);
      assertTrue(s.contains(from), "fixture has " + from);
      Files.writeString(f, s.replace(from, to));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
