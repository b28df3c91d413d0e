package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/**
 * One line of an OpenAI Batch API output file: exactly one of {@code response} and {@code error} is
 * non-null, and both are always written.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonPropertyOrder({"id", "custom_id", "response", "error"})
public record BatchResponseLine(String id, String customId, BatchResponse response,
    ApiError error) {
  public BatchResponseLine {
    if ((response == null) == (error == null)) {
      throw new IllegalArgumentException(
          "Invalid batch output line: exactly one of response and error must be set");
    }
  }

  /** A successful line. */
  public static BatchResponseLine ok(RequestKey key, Object body) {
    return new BatchResponseLine(key.id("batch_req_"), key.key(),
        new BatchResponse(200, key.id("req_"), body), null);
  }

  /** A failed line. */
  public static BatchResponseLine failed(RequestKey key, ApiError error) {
    return new BatchResponseLine(key.id("batch_req_"), key.key(), null, error);
  }
}
