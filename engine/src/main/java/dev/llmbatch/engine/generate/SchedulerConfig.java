package dev.llmbatch.engine.generate;

/**
 * The limits the scheduler plans within.
 *
 * @param slots KV-cache slots: most sequences running at once
 * @param capacity context limit: most tokens (prompt + generated) one sequence may hold
 * @param maxBatchTokens token budget of one step (decode tokens + prefill chunks); at least
 *     {@code slots}, so every running sequence can decode every step
 * @param kvTokenBudget KV-cache tokens that running sequences may reserve together (each reserves
 *     prompt + max_tokens, capped at the capacity, when admitted)
 */
public record SchedulerConfig(int slots, int capacity, int maxBatchTokens, long kvTokenBudget) {
  public SchedulerConfig {
    if (slots < 1 || capacity < 2 || maxBatchTokens < slots || kvTokenBudget < capacity) {
      throw new IllegalArgumentException("Invalid scheduler config: slots=" + slots + ", capacity="
          + capacity + ", maxBatchTokens=" + maxBatchTokens + ", kvTokenBudget=" + kvTokenBudget
          + " (need slots >= 1, capacity >= 2, maxBatchTokens >= slots,"
          + " kvTokenBudget >= capacity)");
    }
  }

  /**
   * Limits from a KV-cache memory budget: the budget in tokens is {@code kvBytes / kvBytesPerToken};
   * the capacity is the model's context (cut to the budget if the budget is smaller), and the slots
   * are as many whole contexts as fit, at most {@code maxSequences} and {@code maxBatchTokens}.
   */
  public static SchedulerConfig fromMemory(int maxSequences, int maxBatchTokens, long kvBytes,
      long kvBytesPerToken, int contextLength) {
    if (kvBytesPerToken < 1) {
      throw new IllegalArgumentException("Invalid kvBytesPerToken: " + kvBytesPerToken);
    }
    long budgetTokens = kvBytes / kvBytesPerToken;
    int capacity = (int) Math.min(contextLength, budgetTokens);
    if (capacity < 2) {
      throw new IllegalArgumentException("Invalid KV-cache budget: " + kvBytes + " bytes hold "
          + budgetTokens + " tokens at " + kvBytesPerToken + " bytes/token; raise it");
    }
    int slots = (int) Math.max(1, Math.min(Math.min(maxSequences, maxBatchTokens),
        budgetTokens / capacity));
    return new SchedulerConfig(slots, capacity, Math.max(maxBatchTokens, slots),
        (long) slots * capacity);
  }
}
