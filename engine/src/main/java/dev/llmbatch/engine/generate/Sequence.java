package dev.llmbatch.engine.generate;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * One choice of a request as the scheduler tracks it: its tokens (prompt, then generated) and how
 * many of them the KV cache already holds. "Tokens computed vs tokens known" is all the scheduler
 * needs; prefill and decode are the same thing at different sizes.
 */
final class Sequence {
  final RequestState owner;
  final int choice;
  final int reservedTokens; // KV tokens this sequence may ever hold
  private final Sampler sampler;
  private final ChoiceText text;
  private final Map<Integer, Integer> counts = new HashMap<>();
  private int[] tokens;
  private int size;
  int computed; // tokens in the KV cache
  int slot = -1;
  int generated;
  String finishReason; // null while running
  String finalText;

  Sequence(RequestState owner, int choice, int capacity, ChoiceText text) {
    this.owner = owner;
    this.choice = choice;
    GenerationRequest r = owner.request;
    int[] prompt = r.promptTokens();
    this.tokens = Arrays.copyOf(prompt, prompt.length + Math.min(r.params().maxTokens(), 64));
    this.size = prompt.length;
    this.reservedTokens = (int) Math.min((long) prompt.length + r.params().maxTokens(), capacity);
    this.sampler = new Sampler(r.params(), choice);
    this.text = text;
  }

  /** Tokens known but not yet in the KV cache. */
  int remaining() {
    return size - computed;
  }

  /** The next {@code count} uncomputed tokens. */
  int[] nextTokens(int count) {
    return Arrays.copyOfRange(tokens, computed, computed + count);
  }

  boolean finished() {
    return finishReason != null;
  }

  /**
   * The next token from the logits of the last known token. Touches only this sequence's sampler
   * (its random stream advances) and reads its own counts: sequences may draw in parallel.
   */
  int draw(float[] logits) {
    return sampler.sample(logits, counts);
  }

  /**
   * Appends the token {@link #draw} gave and decides whether the choice ends: EOS (unless
   * ignore_eos) or a stop string → stop; max_tokens or the context → length.
   */
  void append(int t, int capacity) {
    GenerationRequest r = owner.request;
    if (size == tokens.length) {
      tokens = Arrays.copyOf(tokens, Math.min(tokens.length * 2, capacity + 1));
    }
    tokens[size++] = t;
    generated++;
    counts.merge(t, 1, Integer::sum);
    if (!r.params().ignoreEos() && r.isEos(t)) {
      finish(FinishReason.STOP);
    } else if (text.append(t)) {
      finish(FinishReason.STOP);
    } else if (generated >= r.params().maxTokens() || size >= capacity) {
      finish(FinishReason.LENGTH);
    }
  }

  private void finish(String reason) {
    finishReason = reason;
    finalText = text.finish();
  }

  int[] generatedTokens() {
    return Arrays.copyOfRange(tokens, size - generated, size);
  }

  /** OpenAI's finish reasons. */
  static final class FinishReason {
    static final String STOP = "stop";
    static final String LENGTH = "length";

    private FinishReason() {}
  }
}
