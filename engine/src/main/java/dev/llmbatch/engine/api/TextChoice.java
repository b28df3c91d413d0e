package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/** One choice of a text completion; {@code logprobs} is always written, as {@code null}. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonPropertyOrder({"index", "text", "logprobs", "finish_reason"})
public record TextChoice(int index, String text, Object logprobs, String finishReason) {
  public TextChoice {
    FinishReason.check(finishReason);
  }

  /** A choice without log probabilities. */
  public static TextChoice of(int index, String text, String finishReason) {
    return new TextChoice(index, text, null, finishReason);
  }
}
