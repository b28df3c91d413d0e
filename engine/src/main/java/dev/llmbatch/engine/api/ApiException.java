package dev.llmbatch.engine.api;

import dev.llmbatch.engine.EngineException;

/**
 * A request-level failure carrying its {@link ApiError}: futures returned by the serving layer
 * complete exceptionally with it. A subclass of the engine's one exception type, so callers that
 * only know {@link EngineException} still catch it.
 */
public class ApiException extends EngineException {
  private static final long serialVersionUID = 1L;
  private final transient ApiError error;

  public ApiException(ApiError error) {
    super(error.message());
    this.error = error;
  }

  public ApiException(ApiError error, Throwable cause) {
    super(error.message(), cause);
    this.error = error;
  }

  /** An {@code invalid_request_error} with this message. */
  public static ApiException invalidRequest(String message) {
    return new ApiException(ApiError.invalidRequest(message));
  }

  /** The error to report for the request. */
  public ApiError error() {
    return error;
  }

  /**
   * The {@link ApiError} for any failure of a request: an {@link ApiException}'s own, otherwise
   * {@code server_error} with the cause's message (unwrapping {@code CompletionException}).
   */
  public static ApiError errorOf(Throwable t) {
    Throwable c = t;
    while ((c instanceof java.util.concurrent.CompletionException
            || c instanceof java.util.concurrent.ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    if (c instanceof ApiException a) {
      return a.error();
    }
    String m = c.getMessage() == null ? c.toString() : c.getMessage();
    return new ApiError(ApiError.SERVER_ERROR, m);
  }
}
