package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/**
 * The {@code response} of a Batch API output line.
 *
 * @param statusCode 200 on success
 * @param requestId deterministic id of the request
 * @param body the OpenAI response object
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonPropertyOrder({"status_code", "request_id", "body"})
public record BatchResponse(int statusCode, String requestId, Object body) {}
