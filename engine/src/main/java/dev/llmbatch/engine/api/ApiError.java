package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.Objects;

/**
 * Why one request (one row, one Batch API line) could not be served. The codes are OpenAI's where
 * OpenAI has one; a job never fails for a bad row.
 *
 * @param code one of the constants below
 * @param message what is wrong, where, and how to fix it
 */
@JsonPropertyOrder({"code", "message"})
public record ApiError(String code, String message) {
  /** Bad messages, unknown role, wrong types, out-of-range parameters, unsupported features. */
  public static final String INVALID_REQUEST = "invalid_request_error";
  /** The prompt (plus max_tokens where it must fit) exceeds the model's context. */
  public static final String CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded";
  /** A Batch API line or a row's JSON could not be parsed. */
  public static final String INVALID_JSON = "invalid_json";
  /** The engine failed while serving this request. */
  public static final String SERVER_ERROR = "server_error";

  public ApiError {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(message, "message");
  }

  /** An {@code invalid_request_error}. */
  public static ApiError invalidRequest(String message) {
    return new ApiError(INVALID_REQUEST, message);
  }

  /** HTTP status OpenAI would answer with for this code. */
  public int httpStatus() {
    return SERVER_ERROR.equals(code) ? 500 : 400;
  }
}
