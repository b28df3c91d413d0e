package dev.llmbatch.jobs;

/**
 * The jobs module's one exception: a job that cannot start or finish, with a message phrased
 * {@code "Cannot <verb> <what>: <reason and fix>"} naming the option, file, column or row at fault.
 */
public class JobException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public JobException(String message) {
    super(message);
  }

  public JobException(String message, Throwable cause) {
    super(message, cause);
  }
}
