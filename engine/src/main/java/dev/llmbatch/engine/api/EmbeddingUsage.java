package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/** Token counts of an embeddings request (no completion tokens). */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonPropertyOrder({"prompt_tokens", "total_tokens"})
public record EmbeddingUsage(long promptTokens, long totalTokens) {
  public EmbeddingUsage {
    if (promptTokens < 0 || totalTokens != promptTokens) {
      throw new IllegalArgumentException(
          "Invalid usage: prompt=" + promptTokens + ", total=" + totalTokens);
    }
  }
}
