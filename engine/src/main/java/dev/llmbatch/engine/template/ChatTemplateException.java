package dev.llmbatch.engine.template;

import dev.llmbatch.engine.EngineException;

/**
 * A chat template that cannot be compiled or rendered for a request: a syntax error, a Python
 * error inside the template, a sandbox violation, a limit exceeded. A per-request error: the
 * model stays usable for other requests.
 */
public class ChatTemplateException extends EngineException {
  private static final long serialVersionUID = 1L;

  public ChatTemplateException(String message) {
    super(message);
  }

  public ChatTemplateException(String message, Throwable cause) {
    super(message, cause);
  }
}
