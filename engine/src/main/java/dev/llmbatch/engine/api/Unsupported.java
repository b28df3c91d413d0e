package dev.llmbatch.engine.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/** Rejects request fields that the engine cannot honour, so no row silently gets less than asked. */
final class Unsupported {
  private Unsupported() {}

  static void check(Boolean stream, Boolean logprobs, Integer topLogprobs,
      Map<String, Object> responseFormat, JsonNode tools) {
    if (Boolean.TRUE.equals(stream)) {
      throw ApiException.invalidRequest(
          "Invalid stream: true is meaningless in batch inference; omit it or set it to false");
    }
    if (Boolean.TRUE.equals(logprobs) || (topLogprobs != null && topLogprobs > 0)) {
      throw ApiException.invalidRequest(
          "Invalid logprobs: log probabilities are not supported yet; omit logprobs/top_logprobs");
    }
    if (responseFormat != null) {
      Object type = responseFormat.get("type");
      if (type != null && !"text".equals(type)) {
        throw ApiException.invalidRequest("Invalid response_format: type '" + type
            + "' needs constrained decoding, which is not supported; omit response_format");
      }
    }
    if (tools != null && !tools.isNull() && !(tools.isArray() && tools.isEmpty())) {
      throw ApiException.invalidRequest(
          "Invalid tools: tool calling is not supported; omit 'tools'");
    }
  }
}
