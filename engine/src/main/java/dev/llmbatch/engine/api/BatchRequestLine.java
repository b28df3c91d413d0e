package dev.llmbatch.engine.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/**
 * One line of an OpenAI Batch API input file. The body stays a JSON tree until the url says which
 * request type it is.
 *
 * @param customId the caller's key for the line (the row key for ids and seeds)
 * @param method {@code POST}
 * @param url {@code /v1/chat/completions}, {@code /v1/completions} or {@code /v1/embeddings}
 * @param body the request object
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record BatchRequestLine(String customId, String method, String url, JsonNode body) {
  public static final String CHAT_URL = "/v1/chat/completions";
  public static final String COMPLETIONS_URL = "/v1/completions";
  public static final String EMBEDDINGS_URL = "/v1/embeddings";
}
