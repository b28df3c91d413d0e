package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/**
 * Token counts of one request: prompt tokens as fed to the model (once, however many choices),
 * completion tokens as generated, summed over choices.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonPropertyOrder({"prompt_tokens", "completion_tokens", "total_tokens"})
public record Usage(long promptTokens, long completionTokens, long totalTokens) {
  public Usage {
    if (promptTokens < 0 || completionTokens < 0 || totalTokens != promptTokens + completionTokens) {
      throw new IllegalArgumentException("Invalid usage: prompt=" + promptTokens + ", completion="
          + completionTokens + ", total=" + totalTokens);
    }
  }

  /** Usage with the total computed. */
  public static Usage of(long promptTokens, long completionTokens) {
    return new Usage(promptTokens, completionTokens, promptTokens + completionTokens);
  }
}
