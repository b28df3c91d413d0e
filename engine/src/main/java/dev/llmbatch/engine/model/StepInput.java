package dev.llmbatch.engine.model;

/**
 * One sequence's share of a forward step: append {@code tokens} to the KV cache of {@code slot} at
 * positions {@code startPos .. startPos + tokens.length - 1}. {@code startPos} equals the number of
 * tokens that slot already holds (0 for a fresh sequence). A prefill chunk has many tokens, a decode
 * step one.
 */
public record StepInput(int slot, int startPos, int[] tokens) {
  public StepInput {
    if (slot < 0 || startPos < 0 || tokens == null || tokens.length == 0) {
      throw new IllegalArgumentException("Invalid step input: slot=" + slot + ", startPos="
          + startPos + ", tokens=" + (tokens == null ? "null" : tokens.length));
    }
  }
}
