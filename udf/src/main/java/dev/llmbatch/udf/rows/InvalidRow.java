package dev.llmbatch.udf.rows;

/** Thrown inside request reading to turn one row into a {@link RowError}; never escapes a task. */
final class InvalidRow extends Exception {
  private static final long serialVersionUID = 1L;
  private final RowError error;

  InvalidRow(String code, String message) {
    super(message, null, false, false);
    this.error = new RowError(code, message);
  }

  static InvalidRow request(String message) {
    return new InvalidRow(RowError.INVALID_REQUEST, message);
  }

  RowError error() {
    return error;
  }
}
