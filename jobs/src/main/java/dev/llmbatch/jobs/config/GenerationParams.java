package dev.llmbatch.jobs.config;

import dev.llmbatch.jobs.JobException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Job-level sampling parameters in OpenAI's names. A null field is "not set for this job": the row's
 * own value, then the MLmodel's {@code model_config}, then {@code generation_config.json} decide.
 * Ranges are OpenAI's, checked here so a bad flag fails before any executor starts.
 */
public record GenerationParams(
    Double temperature,
    Integer maxTokens,
    List<String> stop,
    Double topP,
    Integer topK,
    Long seed,
    Integer n,
    Boolean ignoreEos,
    Double presencePenalty,
    Double frequencyPenalty) {

  /** No job-level parameters. */
  public static final GenerationParams NONE =
      new GenerationParams(null, null, null, null, null, null, null, null, null, null);

  public GenerationParams {
    check(temperature == null || (temperature >= 0 && temperature <= 2), "temperature",
        temperature, "between 0 and 2");
    check(maxTokens == null || maxTokens >= 1, "max-tokens", maxTokens, "at least 1");
    check(stop == null || stop.size() <= 4, "stop", stop, "at most 4 strings");
    check(stop == null || stop.stream().noneMatch(s -> s == null || s.isEmpty()), "stop", stop,
        "non-empty strings");
    check(topP == null || (topP > 0 && topP <= 1), "top-p", topP, "in (0, 1]");
    check(topK == null || topK >= 0, "top-k", topK, "0 (off) or more");
    check(n == null || (n >= 1 && n <= 128), "n", n, "between 1 and 128");
    check(presencePenalty == null || Math.abs(presencePenalty) <= 2, "presence-penalty",
        presencePenalty, "between -2 and 2");
    check(frequencyPenalty == null || Math.abs(frequencyPenalty) <= 2, "frequency-penalty",
        frequencyPenalty, "between -2 and 2");
    stop = stop == null ? null : List.copyOf(stop);
  }

  private static void check(boolean ok, String key, Object value, String rule) {
    if (!ok) {
      throw new JobException("Invalid --" + key + ": " + value + " (must be " + rule + ")");
    }
  }

  /**
   * The set parameters as request defaults in OpenAI's names ({@code max_tokens}, {@code top_p},
   * ...). The job's {@code seed} is not among them: it is the job seed from which each row without
   * its own seed derives one (with its key), so rows sample differently yet reproducibly.
   */
  public Map<String, Object> asOpenAi() {
    Map<String, Object> m = new LinkedHashMap<>();
    put(m, "temperature", temperature);
    put(m, "max_tokens", maxTokens);
    put(m, "stop", stop);
    put(m, "top_p", topP);
    put(m, "top_k", topK);
    put(m, "n", n);
    put(m, "ignore_eos", ignoreEos);
    put(m, "presence_penalty", presencePenalty);
    put(m, "frequency_penalty", frequencyPenalty);
    return m;
  }

  private static void put(Map<String, Object> m, String k, Object v) {
    if (v != null) {
      m.put(k, v);
    }
  }
}
