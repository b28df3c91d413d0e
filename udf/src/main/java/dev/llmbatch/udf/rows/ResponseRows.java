package dev.llmbatch.udf.rows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import dev.llmbatch.engine.api.OpenAiJson;
import org.apache.spark.sql.Row;

/**
 * Engine responses to Spark rows: the response object's OpenAI JSON is written into the exact
 * output schema, so the Spark struct and the JSON a client reads agree field for field.
 */
public final class ResponseRows {
  private ResponseRows() {}

  /**
   * The row result of a finished request.
   *
   * @param response a {@code ChatCompletion}, {@code TextCompletion} or {@code EmbeddingResponse}
   * @param created the job's start (epoch seconds) written into {@code created}; 0 keeps the
   *     engine's value. A model is shared by the jobs of an executor, so the job sets this.
   */
  public static RowResult success(Endpoint endpoint, Object response, long created) {
    ObjectNode tree = OpenAiJson.mapper().valueToTree(response);
    if (created > 0 && endpoint != Endpoint.EMBEDDINGS) {
      tree.put("created", created);
    }
    Row row = (Row) JsonRows.fromJson(tree, Schemas.response(endpoint));
    JsonNode usage = tree.path("usage");
    long prompt = usage.path("prompt_tokens").asLong(0);
    long completion = usage.path("completion_tokens").asLong(0);
    return new RowResult(row, null, prompt, completion);
  }

  /** The row result of a failed request (any throwable, unwrapped to its {@link ApiError}). */
  public static RowResult failure(Throwable t) {
    ApiError e = ApiException.errorOf(t);
    return RowResult.failed(new RowError(e.code(), e.message()));
  }
}
