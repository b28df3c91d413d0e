package dev.llmbatch.udf;

import dev.llmbatch.udf.rows.Endpoint;
import java.io.Serializable;
import java.util.List;

/**
 * Everything a batched transform needs on executors, fixed on the driver.
 *
 * @param endpoint chat, completions or embeddings
 * @param model the model handle
 * @param inputCol the {@code messages}/{@code prompt}/{@code input} column
 * @param paramsCol a params struct/map/JSON column, or null
 * @param paramCols per-parameter columns; null = every column named like an OpenAI parameter
 * @param idCol the row-key column, or null to key rows by a hash of their request
 * @param defaultParams default parameters as a JSON object, or null
 * @param responseCol name of the output {@code response} column
 * @param errorCol name of the output {@code error} column
 * @param window rows a task keeps in flight (back-pressure), at least 1
 * @param jobSeed the job seed rows without their own {@code seed} derive theirs from
 * @param created the job's start (epoch seconds) written into {@code created}
 */
public record TransformSpec(Endpoint endpoint, ModelHandle model, String inputCol, String paramsCol,
    List<String> paramCols, String idCol, String defaultParams, String responseCol, String errorCol,
    int window, long jobSeed, long created) implements Serializable {

  public TransformSpec {
    if (endpoint == null || model == null) {
      throw new UdfException("Invalid transform: endpoint and model are required");
    }
    if (window < 1) {
      throw new UdfException("Invalid window: " + window + " (rows in flight per task, use >= 1)");
    }
    if (created < 0) {
      throw new UdfException("Invalid created: " + created + " (epoch seconds)");
    }
    paramCols = paramCols == null ? null : List.copyOf(paramCols);
    responseCol = responseCol == null || responseCol.isBlank() ? "response" : responseCol;
    errorCol = errorCol == null || errorCol.isBlank() ? "error" : errorCol;
    if (responseCol.equalsIgnoreCase(errorCol)) {
      throw new UdfException("Invalid output columns: response and error are both " + responseCol);
    }
  }

  /** Defaults for an endpoint: input column {@code messages}/{@code prompt}/{@code input}. */
  public static TransformSpec of(Endpoint endpoint, ModelHandle model) {
    String input = switch (endpoint) {
      case CHAT -> "messages";
      case COMPLETIONS -> "prompt";
      case EMBEDDINGS -> "input";
    };
    return new TransformSpec(endpoint, model, input, null, null, null, null, "response", "error",
        LlmBatchOptions.WINDOW_DEFAULT, 0L, 0L);
  }

  /** This spec with another input column. */
  public TransformSpec withInputCol(String c) {
    return new TransformSpec(endpoint, model, c, paramsCol, paramCols, idCol, defaultParams,
        responseCol, errorCol, window, jobSeed, created);
  }

  /** This spec with a params column. */
  public TransformSpec withParamsCol(String c) {
    return new TransformSpec(endpoint, model, inputCol, c, paramCols, idCol, defaultParams,
        responseCol, errorCol, window, jobSeed, created);
  }

  /** This spec with an id column. */
  public TransformSpec withIdCol(String c) {
    return new TransformSpec(endpoint, model, inputCol, paramsCol, paramCols, c, defaultParams,
        responseCol, errorCol, window, jobSeed, created);
  }

  /** This spec with default parameters (a JSON object). */
  public TransformSpec withDefaultParams(String json) {
    return new TransformSpec(endpoint, model, inputCol, paramsCol, paramCols, idCol, json,
        responseCol, errorCol, window, jobSeed, created);
  }

  /** This spec with a window. */
  public TransformSpec withWindow(int w) {
    return new TransformSpec(endpoint, model, inputCol, paramsCol, paramCols, idCol, defaultParams,
        responseCol, errorCol, w, jobSeed, created);
  }

  /** This spec with a job seed and created time. */
  public TransformSpec withJob(long seed, long createdEpochSeconds) {
    return new TransformSpec(endpoint, model, inputCol, paramsCol, paramCols, idCol, defaultParams,
        responseCol, errorCol, window, seed, createdEpochSeconds);
  }
}
