package dev.llmbatch.udf.rows;

import org.apache.spark.sql.Row;

/**
 * The outcome of one row: its {@code response} struct or its {@code error}, plus the token counts
 * the metrics add up.
 */
public record RowResult(Row response, RowError error, long promptTokens, long completionTokens) {
  public RowResult {
    if ((response == null) == (error == null)) {
      throw new IllegalArgumentException("A row result has either a response or an error");
    }
  }

  /** A failed row. */
  public static RowResult failed(RowError error) {
    return new RowResult(null, error, 0, 0);
  }

  /** The {@code error} struct value, or null. */
  public Row errorRow() {
    return error == null ? null : error.toRow();
  }
}
