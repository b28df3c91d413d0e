package dev.llmbatch.engine;

/**
 * The one exception type of the engine: a model that cannot be loaded or run, a tokenizer or chat
 * template that fails. Failures inside DJL are wrapped here with the cause kept.
 */
public class EngineException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public EngineException(String message) {
    super(message);
  }

  public EngineException(String message, Throwable cause) {
    super(message, cause);
  }
}
