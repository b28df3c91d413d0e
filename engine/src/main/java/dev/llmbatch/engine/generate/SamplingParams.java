package dev.llmbatch.engine.generate;

import java.util.List;

/**
 * How one request samples, fully resolved (no unset values). Validated here so that the sampler and
 * scheduler never see a nonsensical value.
 *
 * @param temperature 0 means greedy (argmax); otherwise logits are divided by it
 * @param topP keep the smallest set of most likely tokens whose mass reaches top_p; 1 disables
 * @param topK keep the k most likely tokens; 0 disables
 * @param maxTokens most new tokens per choice
 * @param n choices (independent sequences over the same prompt)
 * @param seed the request seed; choice {@code i} draws from its own generator seeded by (seed, i)
 * @param stop up to 4 stop strings, matched on decoded text and cut from the output
 * @param ignoreEos keep generating past EOS tokens (benchmarks)
 * @param presencePenalty OpenAI presence penalty on tokens already generated
 * @param frequencyPenalty OpenAI frequency penalty, per occurrence of a generated token
 */
public record SamplingParams(
    double temperature,
    double topP,
    int topK,
    int maxTokens,
    int n,
    long seed,
    List<String> stop,
    boolean ignoreEos,
    double presencePenalty,
    double frequencyPenalty) {

  /** Most stop strings per request. */
  public static final int MAX_STOP = 4;

  public SamplingParams {
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException("Invalid temperature: " + temperature + " (must be >= 0)");
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("Invalid top_p: " + topP + " (must be in (0, 1])");
    }
    if (topK < 0) {
      throw new IllegalArgumentException("Invalid top_k: " + topK + " (must be >= 0; 0 disables)");
    }
    if (maxTokens < 1) {
      throw new IllegalArgumentException("Invalid max_tokens: " + maxTokens + " (must be >= 1)");
    }
    if (n < 1) {
      throw new IllegalArgumentException("Invalid n: " + n + " (must be >= 1)");
    }
    stop = stop == null ? List.of() : List.copyOf(stop);
    if (stop.size() > MAX_STOP) {
      throw new IllegalArgumentException(
          "Invalid stop: " + stop.size() + " strings, at most " + MAX_STOP + " allowed");
    }
    for (String s : stop) {
      if (s.isEmpty()) {
        throw new IllegalArgumentException("Invalid stop: stop strings must be non-empty");
      }
    }
    if (!(Math.abs(presencePenalty) <= 2) || !(Math.abs(frequencyPenalty) <= 2)) {
      throw new IllegalArgumentException("Invalid penalties: presence=" + presencePenalty
          + ", frequency=" + frequencyPenalty + " (each must be between -2 and 2)");
    }
  }

  /** Greedy decoding of up to {@code maxTokens} tokens, one choice. */
  public static SamplingParams greedy(int maxTokens) {
    return new SamplingParams(0, 1, 0, maxTokens, 1, 0, List.of(), false, 0, 0);
  }

  /** True when the next token is the argmax (temperature 0, or top_k 1). */
  public boolean isGreedy() {
    return temperature == 0 || topK == 1;
  }

  /** True when a penalty changes logits. */
  public boolean hasPenalties() {
    return presencePenalty != 0 || frequencyPenalty != 0;
  }

  /** A copy with another max_tokens (e.g. clamped to the context left). */
  public SamplingParams withMaxTokens(int value) {
    return new SamplingParams(temperature, topP, topK, value, n, seed, stop, ignoreEos,
        presencePenalty, frequencyPenalty);
  }

  /** A copy with another stop list. */
  public SamplingParams withStop(List<String> value) {
    return new SamplingParams(temperature, topP, topK, maxTokens, n, seed, value, ignoreEos,
        presencePenalty, frequencyPenalty);
  }

  /** A copy with ignore_eos set. */
  public SamplingParams withIgnoreEos(boolean value) {
    return new SamplingParams(temperature, topP, topK, maxTokens, n, seed, stop, value,
        presencePenalty, frequencyPenalty);
  }
}
