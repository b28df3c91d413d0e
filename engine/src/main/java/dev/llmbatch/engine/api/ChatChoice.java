package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/**
 * One choice of a chat completion. {@code logprobs} is always written, as {@code null}.
 *
 * @param finishReason {@code stop} (EOS or a stop string) or {@code length}
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonPropertyOrder({"index", "message", "logprobs", "finish_reason"})
public record ChatChoice(int index, ChatMessage message, Object logprobs, String finishReason) {
  public ChatChoice {
    FinishReason.check(finishReason);
  }

  /** An assistant message choice without log probabilities. */
  public static ChatChoice of(int index, String content, String finishReason) {
    return new ChatChoice(index, new ChatMessage("assistant", content), null, finishReason);
  }
}
