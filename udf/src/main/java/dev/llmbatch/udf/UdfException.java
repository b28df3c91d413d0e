package dev.llmbatch.udf;

/**
 * The one exception type of the udf module: a model that cannot be fetched or loaded on an
 * executor, or a transform configured wrongly on the driver. A bad <em>row</em> is never an
 * exception: it becomes that row's {@code error} struct.
 */
public class UdfException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UdfException(String message) {
    super(message);
  }

  public UdfException(String message, Throwable cause) {
    super(message, cause);
  }
}
