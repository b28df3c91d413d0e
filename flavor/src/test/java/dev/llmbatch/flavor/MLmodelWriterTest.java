package dev.llmbatch.flavor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.sample.SampleModels;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class MLmodelWriterTest {
  @TempDir Path tmp;

  /** The fixtures were written by PyYAML's safe_dump, as MLflow writes them: bytes must match. */
  @ParameterizedTest
  @ValueSource(strings = {FlavorFixtures.MLFLOW2_PIPELINE_CHAT,
      FlavorFixtures.MLFLOW3_PIPELINE_EMBEDDINGS, FlavorFixtures.MLFLOW2_CHECKPOINT_CHAT,
      FlavorFixtures.REFERENCE_CHAT, FlavorFixtures.LEGACY_PIPELINE})
  void writesByteForByteWhatMlflowWrote(String name) {
    String text = FlavorFixtures.mlmodelText(name);
    MLmodel m = MLmodelReader.parse(text, name);
    assertEquals(text, MLmodelWriter.toYaml(m));
  }

  @Test
  void roundTripsRecordsAndWritesAtomically() throws IOException {
    MLmodel m = SampleModels.chatMLmodel("acme/x", "model", null, "torch.bfloat16",
        Map.of("temperature", 0.5, "max_new_tokens", 10));
    Path file = tmp.resolve("MLmodel");
    Files.writeString(file, "old");
    MLmodelWriter.write(m, file);
    assertEquals(m, MLmodelReader.read(file));
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(1, s.count(), "no temporary file left behind");
    }
  }

  @Test
  void persistRewriteDropsReferenceKeys() {
    MLmodel ref = MLmodelReader.parse(FlavorFixtures.mlmodelText(FlavorFixtures.REFERENCE_CHAT), "x");
    MLmodel persisted = ref.withTransformers(ref.transformers().withPersistedWeights("model"));
    String yaml = MLmodelWriter.toYaml(persisted);
    assertTrue(yaml.contains("model_binary: model"));
    assertTrue(!yaml.contains("source_model_revision") && !yaml.contains("tokenizer_revision")
        && !yaml.contains("tokenizer_name"), yaml);
    assertTrue(yaml.contains("source_model_name: acme/tiny-llama-chat"));
  }
}
