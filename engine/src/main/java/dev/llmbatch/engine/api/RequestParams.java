package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The generation parameters a request, a job, MLmodel {@code model_config} or
 * {@code generation_config.json} may set; {@code null} means "not set here". Layers combine with
 * {@link #orElse(RequestParams)}: request &gt; job &gt; model_config &gt; generation_config &gt; built-in.
 *
 * @param temperature 0 (greedy) .. 2
 * @param topP nucleus mass in (0, 1]
 * @param topK keep the k most likely tokens; 0 (or -1, vLLM's spelling) disables
 * @param maxTokens most new tokens per choice
 * @param stop up to 4 stop strings
 * @param n choices per request
 * @param seed sampling seed
 * @param presencePenalty OpenAI presence penalty, -2 .. 2
 * @param frequencyPenalty OpenAI frequency penalty, -2 .. 2
 * @param ignoreEos keep generating past EOS (benchmarks)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RequestParams(
    Double temperature,
    Double topP,
    Integer topK,
    Integer maxTokens,
    List<String> stop,
    Integer n,
    Long seed,
    Double presencePenalty,
    Double frequencyPenalty,
    Boolean ignoreEos) {
  /** Nothing set. */
  public static final RequestParams NONE =
      new RequestParams(null, null, null, null, null, null, null, null, null, null);

  /** Most stop strings per request (OpenAI's limit). */
  public static final int MAX_STOP = 4;

  public RequestParams {
    if (temperature != null && (!(temperature >= 0) || temperature > 2)) {
      throw ApiException.invalidRequest(
          "Invalid temperature: " + temperature + " (must be between 0 and 2)");
    }
    if (topP != null && (!(topP > 0) || topP > 1)) {
      throw ApiException.invalidRequest("Invalid top_p: " + topP + " (must be in (0, 1])");
    }
    if (topK != null && topK < -1) {
      throw ApiException.invalidRequest(
          "Invalid top_k: " + topK + " (must be >= 0; 0 or -1 disables it)");
    }
    if (maxTokens != null && maxTokens < 1) {
      throw ApiException.invalidRequest("Invalid max_tokens: " + maxTokens + " (must be >= 1)");
    }
    if (n != null && (n < 1 || n > 128)) {
      throw ApiException.invalidRequest("Invalid n: " + n + " (must be between 1 and 128)");
    }
    if (stop != null) {
      if (stop.size() > MAX_STOP) {
        throw ApiException.invalidRequest(
            "Invalid stop: " + stop.size() + " strings given, at most " + MAX_STOP + " allowed");
      }
      for (String s : stop) {
        if (s == null || s.isEmpty()) {
          throw ApiException.invalidRequest("Invalid stop: stop strings must be non-empty");
        }
      }
      stop = List.copyOf(stop);
    }
    checkPenalty("presence_penalty", presencePenalty);
    checkPenalty("frequency_penalty", frequencyPenalty);
  }

  private static void checkPenalty(String name, Double v) {
    if (v != null && (!(v >= -2) || v > 2)) {
      throw ApiException.invalidRequest(
          "Invalid " + name + ": " + v + " (must be between -2 and 2)");
    }
  }

  /** This layer with every unset field taken from {@code lower}. */
  public RequestParams orElse(RequestParams lower) {
    if (lower == null) {
      return this;
    }
    return new RequestParams(
        temperature != null ? temperature : lower.temperature,
        topP != null ? topP : lower.topP,
        topK != null ? topK : lower.topK,
        maxTokens != null ? maxTokens : lower.maxTokens,
        stop != null ? stop : lower.stop,
        n != null ? n : lower.n,
        seed != null ? seed : lower.seed,
        presencePenalty != null ? presencePenalty : lower.presencePenalty,
        frequencyPenalty != null ? frequencyPenalty : lower.frequencyPenalty,
        ignoreEos != null ? ignoreEos : lower.ignoreEos);
  }
}
