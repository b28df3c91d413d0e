package dev.llmbatch.flavor;

/**
 * The one exception type of the flavor module: a logged model, a file in it or a URI that cannot be
 * read or resolved. Messages name the file, the key and the fix, phrased
 * {@code "Cannot <verb> <what>: <reason>"}.
 */
public class FlavorException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public FlavorException(String message) {
    super(message);
  }

  public FlavorException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Formats the message with {@link String#format}. */
  public static FlavorException of(String format, Object... args) {
    return new FlavorException(String.format(format, args));
  }
}
