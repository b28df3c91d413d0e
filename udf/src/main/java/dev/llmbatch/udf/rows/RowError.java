package dev.llmbatch.udf.rows;

import java.io.Serializable;

/**
 * Why one row could not be served, in OpenAI's words: the row's {@code error} struct.
 *
 * @param code {@code invalid_request_error}, {@code invalid_json}, {@code context_length_exceeded}
 *     or {@code server_error}
 * @param message what is wrong, naming the field and value
 */
public record RowError(String code, String message) implements Serializable {
  public static final String INVALID_REQUEST = "invalid_request_error";
  public static final String INVALID_JSON = "invalid_json";
  public static final String CONTEXT_LENGTH = "context_length_exceeded";
  public static final String SERVER_ERROR = "server_error";

  public RowError {
    if (code == null || code.isBlank()) {
      throw new IllegalArgumentException("RowError needs a code");
    }
    message = message == null ? code : message;
  }

  /** An {@code invalid_request_error}. */
  public static RowError invalid(String message) {
    return new RowError(INVALID_REQUEST, message);
  }

  /** The Spark value of the {@code error} struct. */
  public org.apache.spark.sql.Row toRow() {
    return org.apache.spark.sql.RowFactory.create(code, message);
  }
}
