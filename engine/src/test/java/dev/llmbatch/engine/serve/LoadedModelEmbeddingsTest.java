package dev.llmbatch.engine.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import dev.llmbatch.engine.api.ChatMessage;
import dev.llmbatch.engine.api.ChatRequest;
import dev.llmbatch.engine.api.EmbeddingRequest;
import dev.llmbatch.engine.api.EmbeddingResponse;
import dev.llmbatch.engine.api.RequestKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** Embeddings through LoadedModel on the reference bert-tiny flavor (transformers goldens). */
class LoadedModelEmbeddingsTest {
  @Test
  void embedsEachInputAsTransformersMeanPoolsAndNormalises() throws Exception {
    String shared = System.getProperty("llmbatch.shared.dir");
    Path dir = Path.of(String.valueOf(shared), "reference/bert-tiny");
    if (!Files.isRegularFile(dir.resolve("goldens.json"))) {
      throw new IllegalStateException("Reference bert-tiny missing: llmbatch.shared.dir=" + shared);
    }
    JsonNode texts = new ObjectMapper().readTree(dir.resolve("goldens.json").toFile()).get("texts");
    try (LoadedModel m = LoadedModel.load(dir.resolve("mlflow"),
        ServeOptions.DEFAULTS.withDevice("cpu", 1))) {
      assertEquals("llm/v1/embeddings", m.task());
      EmbeddingResponse r = m.embed(EmbeddingRequest.of(List.of(texts.get(0).get("text").asText(),
          texts.get(1).get("text").asText())), RequestKey.of("e")).get();
      assertEquals(2, r.data().size());
      long tokens = 0;
      for (int i = 0; i < 2; i++) {
        JsonNode gold = texts.get(i).get("mean_pooled_l2_normalized");
        float[] v = r.data().get(i).embedding();
        assertEquals(gold.size(), v.length);
        for (int d = 0; d < v.length; d++) {
          assertEquals(gold.get(d).asDouble(), v[d], 1e-5, "text " + i + " dim " + d);
        }
        assertEquals(i, r.data().get(i).index());
        tokens += texts.get(i).get("input_ids").size();
      }
      assertEquals(tokens, r.usage().promptTokens());

      ExecutionException e = assertThrows(ExecutionException.class, () -> m.embed(
          EmbeddingRequest.of(List.of("fine", " ")), RequestKey.of("f")).get());
      assertEquals(ApiError.INVALID_REQUEST, ApiException.errorOf(e).code());
      e = assertThrows(ExecutionException.class, () -> m.chat(
          ChatRequest.of(List.of(new ChatMessage("user", "hi"))), RequestKey.of("g")).get());
      assertEquals(ApiError.INVALID_REQUEST, ApiException.errorOf(e).code());
    }
  }
}
