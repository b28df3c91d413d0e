package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import java.util.Map;

/**
 * An OpenAI completions request ({@code llm/v1/completions}): a single string {@code prompt} and the
 * same parameters as {@link ChatRequest}. Validated on construction.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CompletionRequest(
    String model,
    String prompt,
    Double temperature,
    Double topP,
    Integer topK,
    @JsonAlias("max_completion_tokens") Integer maxTokens,
    @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> stop,
    Integer n,
    Long seed,
    Double presencePenalty,
    Double frequencyPenalty,
    Boolean ignoreEos,
    Boolean stream,
    Integer logprobs,
    Boolean echo,
    String suffix,
    Map<String, Object> responseFormat) {

  public CompletionRequest {
    if (prompt == null) {
      throw ApiException.invalidRequest("Invalid prompt: 'prompt' (a string) is required");
    }
    stop = stop == null ? null : List.copyOf(stop);
    Unsupported.check(stream, logprobs != null && logprobs > 0, null, responseFormat, null);
    if (Boolean.TRUE.equals(echo)) {
      throw ApiException.invalidRequest("Invalid echo: true is not supported; omit it");
    }
    if (suffix != null && !suffix.isEmpty()) {
      throw ApiException.invalidRequest("Invalid suffix: insertion is not supported; omit it");
    }
    new RequestParams(temperature, topP, topK, maxTokens, stop, n, seed, presencePenalty,
        frequencyPenalty, ignoreEos);
  }

  /** A minimal request: the prompt only. */
  public static CompletionRequest of(String prompt) {
    return new CompletionRequest(null, prompt, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null);
  }

  /** The same prompt with these generation parameters (the others unset). */
  public CompletionRequest withParams(RequestParams p) {
    return new CompletionRequest(model, prompt, p.temperature(), p.topP(), p.topK(),
        p.maxTokens(), p.stop(), p.n(), p.seed(), p.presencePenalty(), p.frequencyPenalty(),
        p.ignoreEos(), stream, logprobs, echo, suffix, responseFormat);
  }

  /** The generation parameters this request sets. */
  @JsonIgnore
  public RequestParams params() {
    return new RequestParams(temperature, topP, topK, maxTokens, stop, n, seed, presencePenalty,
        frequencyPenalty, ignoreEos);
  }
}
