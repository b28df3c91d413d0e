package dev.llmbatch.flavor.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.Layout;
import dev.llmbatch.flavor.LoggedModel;
import dev.llmbatch.flavor.MLmodel;
import dev.llmbatch.flavor.MLmodelReader;
import dev.llmbatch.flavor.TransformersFlavor;
import dev.llmbatch.flavor.hf.HfCache;
import dev.llmbatch.flavor.safetensors.DType;
import dev.llmbatch.flavor.sample.SampleModels;
import dev.llmbatch.flavor.sample.SampleTokenizers;
import dev.llmbatch.flavor.sample.SampleModels.LlamaSizes;
import dev.llmbatch.flavor.uri.MlflowEnvironment;
import dev.llmbatch.flavor.uri.ModelUriResolver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code log}: a tiny checkpoint written by the test, logged, re-read, registered, resolved. */
class ModelLoggerTest {
  static final String SHA = "89abcdef0123456789abcdef0123456789abcdef";
  @TempDir Path tmp;

  static Path llamaCheckpoint(Path dir, String chatTemplate) {
    int vocab = SampleTokenizers.writeWordLevel(dir, SampleTokenizers.sampleWords(), chatTemplate);
    SampleModels.writeLlama(dir, LlamaSizes.tiny(vocab), DType.BF16, 3);
    return dir;
  }

  private MlflowEnvironment env() {
    return MlflowEnvironment.of(Map.of(MlflowEnvironment.TRACKING_URI,
        tmp.resolve("mlruns").toUri().toString()), tmp);
  }

  private LogRequest request(Path checkpoint, String task, Path out, String reference,
      String register) {
    return new LogRequest(checkpoint, task, out, "chat-model",
        LogRequest.parseModelConfig(List.of("max_tokens=64", "temperature=0.7", "stop=<|im_end|>")),
        reference, register, null, null, false);
  }

  @Test
  void logsACheckpointAsAFlavorWithEveryCheckpointModeKeyAndRegistersIt() throws IOException {
    Path ckpt = llamaCheckpoint(tmp.resolve("ckpt"), SampleTokenizers.CHATML_TEMPLATE);
    Path out = tmp.resolve("logged/chat");
    ModelLogger.Result r = new ModelLogger(env()).log(request(ckpt, "llm/v1/chat", out, null, "chat"));
    assertEquals(out, r.output());
    // model/ is the checkpoint, hard-linked (so no weight byte was read or copied)
    for (String f : List.of("config.json", "model.safetensors", "tokenizer.json")) {
      assertTrue(Files.isSameFile(ckpt.resolve(f), out.resolve("model").resolve(f)), f);
    }
    assertTrue(Files.isRegularFile(out.resolve("components/tokenizer/tokenizer_config.json")));
    assertFalse(Files.exists(out.resolve("components/tokenizer/model.safetensors")));
    for (String f : List.of("requirements.txt", "conda.yaml", "python_env.yaml")) {
      assertTrue(Files.isRegularFile(out.resolve(f)), f);
    }
    String yaml = Files.readString(out.resolve("MLmodel"));
    assertTrue(yaml.contains("    code: null\n"), yaml);
    MLmodel m = MLmodelReader.read(out.resolve("MLmodel"));
    TransformersFlavor f = m.transformers();
    assertEquals("text-generation", f.task());
    assertEquals("llm/v1/chat", f.inferenceTask());
    assertEquals("TextGenerationPipeline", f.instanceType());
    assertEquals("LlamaForCausalLM", f.pipelineModelType());
    assertEquals(ckpt.toString(), f.sourceModelName());
    assertEquals("model", f.modelBinary());
    assertEquals("pt", f.framework());
    assertNull(f.torchDtype());
    assertNull(f.sourceModelRevision());
    assertEquals(List.of("tokenizer"), f.componentNames());
    assertEquals("PreTrainedTokenizerFast", f.component("tokenizer").get().type());
    assertTrue(f.transformersVersion() != null && !f.transformersVersion().isBlank());
    assertEquals("chat-model", m.artifactPath());
    assertEquals("llm/v1/chat", m.metadata().task());
    assertEquals("mlflow.transformers", m.pyFunc().loaderModule());
    assertEquals(Map.of("max_tokens", 64L, "temperature", 0.7, "stop", "<|im_end|>"),
        Map.copyOf(m.modelConfig()).entrySet().stream().collect(java.util.stream.Collectors
            .toMap(Map.Entry::getKey, e -> e.getValue() instanceof Integer i ? (Object) (long) i
                : e.getValue())));
    assertEquals(List.of("messages", "temperature", "max_tokens", "stop", "n", "stream"),
        m.signature().inputNames());
    assertTrue(m.modelSizeBytes() > Files.size(ckpt.resolve("model.safetensors")));
    assertEquals(32, m.modelUuid().length());
    // it opens as a checkpoint-mode model, tokenizer from components/
    LoggedModel opened = LoggedModel.open(out, HfCache.at(tmp.resolve("no-cache")));
    assertEquals(Layout.CHECKPOINT, opened.layout());
    assertEquals(out.resolve("components/tokenizer"), opened.tokenizerDir().orElseThrow());
    // registered: version 1, resolvable; a second registration is version 2
    assertEquals(1, r.registeredVersion());
    assertEquals(out, new ModelUriResolver(env()).resolve("models:/chat/1").localPath());
    assertEquals(out, new ModelUriResolver(env()).resolve("models:/chat/latest").localPath());
    Path out2 = tmp.resolve("logged/chat2");
    assertEquals(2, new ModelLogger(env()).log(request(ckpt, "llm/v1/chat", out2, null, "chat"))
        .registeredVersion());
    assertEquals(out2, new ModelUriResolver(env()).resolve("models:/chat/latest").localPath());
    // no staging folder is left next to the outputs
    try (Stream<Path> s = Files.list(tmp.resolve("logged"))) {
      assertEquals(List.of("chat", "chat2"), s.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }

  @Test
  void theTaskIsCheckedAgainstTheArchitectureAtLogTime() {
    Path bert = tmp.resolve("bert");
    int vocab = SampleTokenizers.writeWordLevel(bert, SampleTokenizers.sampleWords(), null);
    SampleModels.writeBert(bert, vocab, 1);
    for (String task : List.of("text-generation", "llm/v1/chat")) {
      Path out = tmp.resolve("out-" + task.replace('/', '_'));
      String m = assertThrows(FlavorException.class,
          () -> new ModelLogger(env()).log(request(bert, task, out, null, null))).getMessage();
      assertTrue(m.contains("BertModel") && m.contains("'" + task + "'")
          && m.contains("[llm/v1/embeddings, feature-extraction]"), m);
      assertFalse(Files.exists(out));
    }
    ModelLogger.Result ok = new ModelLogger(env()).log(request(bert, "llm/v1/embeddings",
        tmp.resolve("emb"), null, null));
    assertEquals("feature-extraction", ok.mlmodel().transformers().task());
    assertEquals("FeatureExtractionPipeline", ok.mlmodel().transformers().instanceType());
  }

  @Test
  void chatNeedsATemplateAndOutputsAreNeverOverwritten() throws IOException {
    Path noTemplate = llamaCheckpoint(tmp.resolve("plain"), null);
    String m = assertThrows(FlavorException.class, () -> new ModelLogger(env())
        .log(request(noTemplate, "llm/v1/chat", tmp.resolve("o1"), null, null))).getMessage();
    assertTrue(m.contains("chat template") && m.contains("llm/v1/completions"), m);
    new ModelLogger(env()).log(request(noTemplate, "llm/v1/completions", tmp.resolve("o1"), null,
        null));
    String again = assertThrows(FlavorException.class, () -> new ModelLogger(env())
        .log(request(noTemplate, "llm/v1/completions", tmp.resolve("o1"), null, null))).getMessage();
    assertTrue(again.contains("not empty"), again);
    String badRef = assertThrows(FlavorException.class, () -> request(noTemplate, "text-generation",
        tmp.resolve("o2"), "org/name@main", null)).getMessage();
    assertTrue(badRef.contains("40-hex"), badRef);
  }

  @Test
  void referenceOnlyWritesNoWeightsAndPinsTheRevision() throws IOException {
    Path ckpt = llamaCheckpoint(tmp.resolve("ckpt"), SampleTokenizers.CHATML_TEMPLATE);
    Path out = tmp.resolve("ref");
    ModelLogger.Result r = new ModelLogger(env()).log(new LogRequest(ckpt, "llm/v1/chat", out,
        null, Map.of(), "acme/tiny-chat@" + SHA, null, "bfloat16", null, false));
    assertFalse(Files.exists(out.resolve("model")));
    assertFalse(Files.exists(out.resolve("components")));
    TransformersFlavor f = MLmodelReader.read(out.resolve("MLmodel")).transformers();
    assertNull(f.modelBinary());
    assertEquals("acme/tiny-chat", f.sourceModelName());
    assertEquals(SHA, f.sourceModelRevision());
    assertEquals("acme/tiny-chat", f.component("tokenizer").get().sourceName());
    assertEquals(SHA, f.component("tokenizer").get().revision());
    assertEquals("torch.bfloat16", f.torchDtype());
    assertEquals("model", r.mlmodel().artifactPath());
  }
}
