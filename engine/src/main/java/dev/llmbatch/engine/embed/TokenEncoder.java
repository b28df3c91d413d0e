package dev.llmbatch.engine.embed;

/**
 * Text to token ids, special tokens included ({@code [CLS] … [SEP]}), never truncated or padded.
 * Serving adapts {@code tokenizer.TextTokenizer#encode(text, true)} to it.
 */
@FunctionalInterface
public interface TokenEncoder {
  /** The ids of {@code text} with the model's special tokens. */
  int[] encode(String text);
}
