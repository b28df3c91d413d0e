package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/**
 * An OpenAI embeddings request ({@code llm/v1/embeddings}): {@code input} is a string or an array
 * of strings (one embedding each).
 *
 * @param model ignored (the loaded model answers)
 * @param input texts, at least one
 * @param dimensions truncate to this many dimensions and re-normalise (models that support it)
 * @param encodingFormat {@code float} (default) or {@code base64}
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record EmbeddingRequest(
    String model,
    @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> input,
    Integer dimensions,
    String encodingFormat) {

  public EmbeddingRequest {
    if (input == null || input.isEmpty()) {
      throw ApiException.invalidRequest(
          "Invalid input: 'input' must be a string or a non-empty array of strings");
    }
    for (int i = 0; i < input.size(); i++) {
      if (input.get(i) == null) {
        throw ApiException.invalidRequest("Invalid input[" + i + "]: null is not a string");
      }
    }
    input = List.copyOf(input);
    if (dimensions != null && dimensions < 1) {
      throw ApiException.invalidRequest("Invalid dimensions: " + dimensions + " (must be >= 1)");
    }
    if (encodingFormat != null && !encodingFormat.equals("float")
        && !encodingFormat.equals("base64")) {
      throw ApiException.invalidRequest(
          "Invalid encoding_format: '" + encodingFormat + "' (use float or base64)");
    }
  }

  /** A request for these texts with default options. */
  public static EmbeddingRequest of(List<String> input) {
    return new EmbeddingRequest(null, input, null, null);
  }
}
