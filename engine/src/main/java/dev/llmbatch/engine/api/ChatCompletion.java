package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/** An OpenAI {@code chat.completion} object. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonPropertyOrder({"id", "object", "created", "model", "system_fingerprint", "choices", "usage"})
public record ChatCompletion(
    String id,
    String object,
    long created,
    String model,
    String systemFingerprint,
    List<ChatChoice> choices,
    Usage usage) {
  public static final String OBJECT = "chat.completion";

  public ChatCompletion {
    if (!OBJECT.equals(object)) {
      throw new IllegalArgumentException("Invalid object: " + object + " (expected " + OBJECT + ")");
    }
    choices = List.copyOf(choices);
  }

  /** A completion with {@code object = chat.completion}. */
  public static ChatCompletion of(String id, long created, String model, String fingerprint,
      List<ChatChoice> choices, Usage usage) {
    return new ChatCompletion(id, OBJECT, created, model, fingerprint, choices, usage);
  }
}
