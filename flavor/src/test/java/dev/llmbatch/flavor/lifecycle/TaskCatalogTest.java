package dev.llmbatch.flavor.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.FlavorException;
import org.junit.jupiter.api.Test;

/** Which tasks a model class may be logged for. */
class TaskCatalogTest {
  @Test
  void decodersLogForEmbeddingsAsWellAsGeneration() {
    // Qwen3-Embedding's config.json names Qwen3ForCausalLM; gte-Qwen2 / e5-mistral name *Model
    TaskCatalog.Task t = TaskCatalog.resolve("llm/v1/embeddings", "Qwen3ForCausalLM");
    assertEquals("feature-extraction", t.task());
    assertEquals("llm/v1/embeddings", t.inferenceTask());
    assertEquals("FeatureExtractionPipeline", t.instanceType());
    assertEquals("feature-extraction", TaskCatalog.resolve("feature-extraction",
        "MistralModel").task());
    assertEquals("llm/v1/chat", TaskCatalog.resolve("llm/v1/chat", "Qwen3ForCausalLM")
        .inferenceTask());
    FlavorException e = assertThrows(FlavorException.class,
        () -> TaskCatalog.resolve("llm/v1/chat", "BertModel"));
    assertTrue(e.getMessage().contains("llm/v1/embeddings"), e.getMessage());
  }
}
