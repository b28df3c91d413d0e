package dev.llmbatch.udf.sql;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.engine.api.RequestKey;
import dev.llmbatch.udf.ModelHandle;
import dev.llmbatch.udf.executor.ExecutorModels;
import dev.llmbatch.udf.executor.ModelService;
import dev.llmbatch.udf.metrics.LlmBatchMetrics;
import dev.llmbatch.udf.rows.Endpoint;
import dev.llmbatch.udf.rows.ParsedRequest;
import dev.llmbatch.udf.rows.RequestReader;
import dev.llmbatch.udf.rows.ResponseRows;
import dev.llmbatch.udf.rows.RowError;
import dev.llmbatch.udf.rows.RowResult;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.spark.SparkEnv;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;

/**
 * The body of {@code llm_chat}, {@code llm_complete} and {@code llm_embed}: one row in, one
 * {@code struct<response, error>} out. A scalar function sees one row at a time, so each call
 * waits for its row; rows still batch because every concurrent task of the executor submits to the
 * same engine scheduler. For a window of rows in flight per task use the DataFrame transforms.
 */
public final class LlmSqlFunction implements UDF1<Object, Row>, UDF2<Object, Object, Row> {
  private static final long serialVersionUID = 1L;

  private final Endpoint endpoint;
  private final ModelHandle model;
  private final String defaultParams;
  private final long jobSeed;
  private final long created;
  private final LlmBatchMetrics metrics;
  private transient ObjectNode defaults;
  private transient ModelService service;

  /**
   * @param defaultParams default parameters as a JSON object, or null
   * @param created epoch seconds written into {@code created}
   * @param metrics accumulators to add to, or null
   */
  public LlmSqlFunction(Endpoint endpoint, ModelHandle model, String defaultParams, long jobSeed,
      long created, LlmBatchMetrics metrics) {
    this.endpoint = endpoint;
    this.model = model;
    this.defaultParams = defaultParams;
    this.jobSeed = jobSeed;
    this.created = created;
    this.metrics = metrics;
    RequestReader.parseDefaults(endpoint, defaultParams);
  }

  @Override
  public Row call(Object input) {
    return call(input, null);
  }

  @Override
  public Row call(Object input, Object params) {
    if (defaults == null) {
      defaults = RequestReader.parseDefaults(endpoint, defaultParams);
    }
    ParsedRequest parsed = RequestReader.read(endpoint, input, input instanceof String, params,
        Map.of(), null, defaults);
    RowResult r = parsed.isOk() ? serve(parsed) : RowResult.failed(parsed.error());
    if (metrics != null) {
      metrics.row(r.error() == null ? null : r.error().code(), r.promptTokens(), r.completionTokens());
    }
    return RowFactory.create(r.response(), r.errorRow());
  }

  private RowResult serve(ParsedRequest parsed) {
    if (service == null) {
      ExecutorModels.Acquired a = ExecutorModels.acquire(model);
      service = a.service();
      if (a.loadedNow() && metrics != null) {
        metrics.modelLoaded(SparkEnv.get() == null ? null : SparkEnv.get().executorId());
      }
    }
    long t0 = System.nanoTime();
    Object response;
    try {
      response = service.submit(endpoint, parsed.body(), new RequestKey(parsed.rowKey(), jobSeed)).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Task interrupted while waiting for the model", e);
    } catch (ExecutionException | RuntimeException e) {
      return ResponseRows.failure(e);
    } finally {
      if (metrics != null) {
        metrics.engineBusy(System.nanoTime() - t0);
      }
    }
    try {
      return ResponseRows.success(endpoint, response, created);
    } catch (RuntimeException e) {
      return RowResult.failed(new RowError(RowError.SERVER_ERROR, "Cannot write the response: " + e));
    }
  }
}
