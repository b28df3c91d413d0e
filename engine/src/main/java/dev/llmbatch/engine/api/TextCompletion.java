package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/** An OpenAI {@code text_completion} object. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonPropertyOrder({"id", "object", "created", "model", "system_fingerprint", "choices", "usage"})
public record TextCompletion(
    String id,
    String object,
    long created,
    String model,
    String systemFingerprint,
    List<TextChoice> choices,
    Usage usage) {
  public static final String OBJECT = "text_completion";

  public TextCompletion {
    if (!OBJECT.equals(object)) {
      throw new IllegalArgumentException("Invalid object: " + object + " (expected " + OBJECT + ")");
    }
    choices = List.copyOf(choices);
  }

  /** A completion with {@code object = text_completion}. */
  public static TextCompletion of(String id, long created, String model, String fingerprint,
      List<TextChoice> choices, Usage usage) {
    return new TextCompletion(id, OBJECT, created, model, fingerprint, choices, usage);
  }
}
