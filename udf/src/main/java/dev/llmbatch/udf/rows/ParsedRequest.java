package dev.llmbatch.udf.rows;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One row read as an OpenAI request body with its row key, or the reason it cannot be served.
 *
 * @param body the request body ({@code messages}/{@code prompt}/{@code input} plus parameters);
 *     null when {@code error} is set
 * @param rowKey the key ids and seeds derive from: the id column's value, else a hash of the body
 * @param error why the row cannot be served; null for a good row
 */
public record ParsedRequest(ObjectNode body, String rowKey, RowError error) {
  public ParsedRequest {
    if ((body == null) == (error == null)) {
      throw new IllegalArgumentException("A parsed request has either a body or an error");
    }
  }

  static ParsedRequest ok(ObjectNode body, String rowKey) {
    return new ParsedRequest(body, rowKey, null);
  }

  static ParsedRequest failed(RowError error, String rowKey) {
    return new ParsedRequest(null, rowKey, error);
  }

  /** True when the row can be sent to the engine. */
  public boolean isOk() {
    return error == null;
  }
}
