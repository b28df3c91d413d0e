package dev.llmbatch.flavor;

import static dev.llmbatch.flavor.testing.Messages.assertOneLine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MLmodelReaderTest {
  @TempDir Path tmp;

  @Test
  void readsMlflow2PipelineChat() {
    MLmodel m = MLmodelReader.parse(FlavorFixtures.mlmodelText(FlavorFixtures.MLFLOW2_PIPELINE_CHAT), "x");
    assertEquals("model", m.artifactPath());
    assertEquals("2.19.0", m.mlflowVersion());
    assertEquals(123456L, m.modelSizeBytes());
    assertEquals("2024-07-01 22:37:00.123456", m.utcTimeCreated());
    assertNull(m.modelId());
    TransformersFlavor t = m.transformers();
    assertEquals("text-generation", t.task());
    assertEquals("llm/v1/chat", t.inferenceTask());
    assertEquals("LlamaForCausalLM", t.pipelineModelType());
    assertEquals("model", t.modelBinary());
    assertEquals("float32", t.torchDtypeName());
    assertNull(t.code());
    assertEquals(List.of("tokenizer"), t.componentNames());
    assertEquals("PreTrainedTokenizerFast", t.component("tokenizer").orElseThrow().type());
    assertEquals(Map.of("max_new_tokens", 64, "temperature", 0.2, "do_sample", true), m.modelConfig());
    assertEquals("mlflow.transformers", m.pyFunc().loaderModule());
    assertEquals(Map.of("conda", "conda.yaml", "virtualenv", "python_env.yaml"), m.pyFunc().env());
    assertEquals("llm/v1/chat", m.metadata().task());
    assertEquals("<sys>Be brief.</sys>\n{prompt}", m.metadata().promptTemplate());
    assertEquals("llm/v1/chat", m.llmTask());
    assertEquals(List.of("messages", "temperature", "max_tokens", "stop", "n", "stream"),
        m.signature().inputNames());
    assertTrue(m.signature().inputsTree().get(0).path("items").isObject());
    assertNull(m.signature().params());
    assertEquals("input_example.json", m.savedInputExampleInfo().artifactPath());
    assertTrue(m.extra().isEmpty(), m.extra().toString());
  }

  @Test
  void readsMlflow3KeysAndKeepsUnknownOnes() {
    MLmodel m = MLmodelReader.parse(
        FlavorFixtures.mlmodelText(FlavorFixtures.MLFLOW3_PIPELINE_EMBEDDINGS), "x");
    assertEquals("m-0123456789abcdef0123456789abcdef", m.modelId());
    assertEquals("serving_input_example.json", m.savedInputExampleInfo().servingInputPath());
    assertEquals("llm/v1/embeddings", m.llmTask());
    assertEquals(List.of("input"), m.signature().inputNames());
    assertEquals(false, m.extra().get("is_signature_from_type_hint"));
    assertTrue(m.extra().containsKey("prompts"));
    assertNull(m.extra().get("prompts"));
  }

  @Test
  void readsReferenceOnlyComponentKeysAndParams() {
    MLmodel ref = MLmodelReader.parse(FlavorFixtures.mlmodelText(FlavorFixtures.REFERENCE_CHAT), "x");
    TransformersFlavor.Component tok = ref.transformers().component("tokenizer").orElseThrow();
    assertEquals(FlavorFixtures.REFERENCE_REPO, tok.sourceName());
    assertEquals(FlavorFixtures.REVISION, tok.revision());
    assertNull(ref.transformers().modelBinary());
    assertEquals(FlavorFixtures.REVISION, ref.transformers().sourceModelRevision());

    MLmodel ckpt = MLmodelReader.parse(
        FlavorFixtures.mlmodelText(FlavorFixtures.MLFLOW2_CHECKPOINT_CHAT), "x");
    assertEquals(List.of("max_new_tokens", "temperature"), ckpt.signature().paramNames());
    assertEquals(64, ckpt.signature().paramsTree().get(0).get("default").asInt());
    assertNull(ckpt.transformers().torchDtype());
  }

  @Test
  void keepsUnknownFlavorKeysAndOtherFlavors() {
    String yaml = "flavors:\n  transformers:\n    task: text-generation\n    future_key: 7\n"
        + "    components: [tokenizer, processor]\n    processor_type: AutoProcessor\n"
        + "  sklearn:\n    pickled_model: model.pkl\nbrand_new_top: {a: 1}\n";
    MLmodel m = MLmodelReader.parse(yaml, "x");
    assertEquals(7, m.transformers().extra().get("future_key"));
    assertEquals("AutoProcessor", m.transformers().component("processor").orElseThrow().type());
    assertEquals(Map.of("pickled_model", "model.pkl"), m.otherFlavors().get("sklearn"));
    assertEquals(Map.of("a", 1), m.extra().get("brand_new_top"));
    assertNull(m.pyFunc());
  }

  @Test
  void malformedYamlIsOneLineNamingFileAndLine() {
    Path file = FlavorFixtures.writeText(tmp.resolve("MLmodel"),
        "artifact_path: model\nflavors:\n  transformers:\n    task: [unclosed\n");
    FlavorException e = assertThrows(FlavorException.class, () -> MLmodelReader.read(file));
    assertOneLine(e.getMessage(), file.toString(), "malformed YAML", "line ", "fix the file");
  }

  @Test
  void valueOfWrongShapeNamesKey() {
    Path file = FlavorFixtures.writeText(tmp.resolve("MLmodel"),
        "flavors:\n  transformers:\n    task: {not: scalar}\n");
    FlavorException e = assertThrows(FlavorException.class, () -> MLmodelReader.read(file));
    assertOneLine(e.getMessage(), file.toString(), "'task'", "fix the value");
  }

  @Test
  void signatureThatIsNotJsonNamesKey() {
    FlavorException e = assertThrows(FlavorException.class,
        () -> MLmodelReader.parse("signature:\n  inputs: '[{oops'\n", "/m/MLmodel"));
    assertOneLine(e.getMessage(), "/m/MLmodel", "signature.inputs", "JSON");
  }

  @Test
  void missingFileSaysWhatTheUriMustPointAt() {
    FlavorException e = assertThrows(FlavorException.class, () -> MLmodelReader.read(tmp));
    assertOneLine(e.getMessage(), tmp.resolve("MLmodel").toString(), "does not exist");
  }

  @Test
  void promptTemplateWithoutPlaceholderIsRejected() {
    FlavorException e = assertThrows(FlavorException.class,
        () -> MLmodelReader.parse("metadata:\n  prompt_template: 'no placeholder'\n", "/m/MLmodel"));
    assertOneLine(e.getMessage(), "/m/MLmodel", "{prompt}");
  }
}
