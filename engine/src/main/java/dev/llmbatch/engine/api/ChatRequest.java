package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import java.util.Map;

/**
 * An OpenAI chat completions request ({@code llm/v1/chat}). Validated on construction (so on
 * parsing): bad values throw {@link ApiException} with {@code invalid_request_error}. Fields the
 * engine cannot honour ({@code stream: true}, {@code logprobs: true}, {@code tools},
 * {@code response_format} other than text) are rejected rather than silently ignored; other unknown
 * fields (e.g. {@code user}) are ignored.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChatRequest(
    String model,
    List<ChatMessage> messages,
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
    Boolean logprobs,
    Integer topLogprobs,
    Map<String, Object> responseFormat,
    JsonNode tools,
    Map<String, Object> chatTemplateKwargs) {

  public ChatRequest {
    if (messages == null || messages.isEmpty()) {
      throw ApiException.invalidRequest(
          "Invalid messages: 'messages' must be a non-empty array of {role, content}");
    }
    for (int i = 0; i < messages.size(); i++) {
      ChatMessage m = messages.get(i);
      if (m == null || m.role() == null) {
        throw ApiException.invalidRequest("Invalid messages[" + i + "]: 'role' is required");
      }
      if (!ChatMessage.ROLES.contains(m.role())) {
        throw ApiException.invalidRequest("Invalid messages[" + i + "].role: '" + m.role()
            + "' (use one of system, user, assistant, tool)");
      }
      if (m.content() == null && !"assistant".equals(m.role())) {
        throw ApiException.invalidRequest("Invalid messages[" + i + "]: 'content' is required");
      }
    }
    messages = List.copyOf(messages);
    stop = stop == null ? null : List.copyOf(stop);
    Unsupported.check(stream, logprobs, topLogprobs, responseFormat, tools);
    chatTemplateKwargs = chatTemplateKwargs == null ? null : Map.copyOf(chatTemplateKwargs);
    // Validates the ranges (throws invalid_request_error).
    new RequestParams(temperature, topP, topK, maxTokens, stop, n, seed, presencePenalty,
        frequencyPenalty, ignoreEos);
  }

  /** A minimal request: messages only, everything else from the defaults. */
  public static ChatRequest of(List<ChatMessage> messages) {
    return new ChatRequest(null, messages, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null);
  }

  /** The same messages with these generation parameters (the others unset). */
  public ChatRequest withParams(RequestParams p) {
    return new ChatRequest(model, messages, p.temperature(), p.topP(), p.topK(), p.maxTokens(),
        p.stop(), p.n(), p.seed(), p.presencePenalty(), p.frequencyPenalty(), p.ignoreEos(),
        stream, logprobs, topLogprobs, responseFormat, tools, chatTemplateKwargs);
  }

  /** The generation parameters this request sets. */
  @JsonIgnore
  public RequestParams params() {
    return new RequestParams(temperature, topP, topK, maxTokens, stop, n, seed, presencePenalty,
        frequencyPenalty, ignoreEos);
  }
}
