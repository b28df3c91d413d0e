package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/** An OpenAI embeddings response, one per row: {@code object = "list"}. */
@JsonPropertyOrder({"object", "data", "model", "usage"})
public record EmbeddingResponse(String object, List<Embedding> data, String model,
    EmbeddingUsage usage) {
  public EmbeddingResponse {
    if (!"list".equals(object)) {
      throw new IllegalArgumentException("Invalid object: " + object + " (expected list)");
    }
    data = List.copyOf(data);
  }

  /** A response listing these embeddings. */
  public static EmbeddingResponse of(List<Embedding> data, String model, long promptTokens) {
    return new EmbeddingResponse("list", data, model, new EmbeddingUsage(promptTokens, promptTokens));
  }
}
