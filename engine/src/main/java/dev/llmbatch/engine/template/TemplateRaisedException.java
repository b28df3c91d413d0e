package dev.llmbatch.engine.template;

/**
 * The template itself rejected the conversation with {@code raise_exception(message)} (e.g.
 * "Conversation roles must alternate user/assistant/user/assistant/..."). {@link
 * #templateMessage()} is the template's text, for the request's error.
 */
public final class TemplateRaisedException extends ChatTemplateException {
  private static final long serialVersionUID = 1L;
  private final String templateMessage;

  public TemplateRaisedException(String templateMessage) {
    super("Cannot render chat template: the template raised an error: " + templateMessage);
    this.templateMessage = templateMessage;
  }

  /** The message the template passed to {@code raise_exception}. */
  public String templateMessage() {
    return templateMessage;
  }
}
