package dev.llmbatch.engine.template;

/**
 * A chat request for a model that has no chat template. A per-request error, never a silent
 * fallback to some default format.
 */
public final class MissingChatTemplateException extends ChatTemplateException {
  private static final long serialVersionUID = 1L;

  public MissingChatTemplateException(String model) {
    super("Cannot apply a chat template for model " + model + ": it has none (no chat_template in"
        + " tokenizer_config.json, no chat_template.jinja); send llm/v1/completions requests with a"
        + " prompt instead, or log the model with a tokenizer that defines a chat template");
  }
}
