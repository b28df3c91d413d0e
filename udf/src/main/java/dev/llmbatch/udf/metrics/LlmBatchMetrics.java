package dev.llmbatch.udf.metrics;

import dev.llmbatch.engine.embed.EmbeddingScheduler;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.SparkContext;
import org.apache.spark.util.LongAccumulator;

/**
 * The accumulators of llm-batch transforms and SQL functions, registered on the driver and shipped
 * inside task closures. The jobs module reads {@link #snapshot()} after an action. As with every
 * Spark accumulator, counts from tasks that were retried may be added more than once.
 */
public final class LlmBatchMetrics implements Serializable {
  private static final long serialVersionUID = 1L;

  private final LongAccumulator rows;
  private final CountByKeyAccumulator errors;
  private final LongAccumulator promptTokens;
  private final LongAccumulator completionTokens;
  private final LongAccumulator engineBusyMillis;
  private final LongAccumulator modelLoads;
  private final CountByKeyAccumulator loadsByExecutor;
  private final MaxByKeyAccumulator embeddingBatching;

  private LlmBatchMetrics(SparkContext sc, String prefix) {
    rows = sc.longAccumulator(prefix + "rows");
    errors = countByKey(sc, prefix + "errors");
    promptTokens = sc.longAccumulator(prefix + "promptTokens");
    completionTokens = sc.longAccumulator(prefix + "completionTokens");
    engineBusyMillis = sc.longAccumulator(prefix + "engineBusyMillis");
    modelLoads = sc.longAccumulator(prefix + "modelLoads");
    loadsByExecutor = countByKey(sc, prefix + "modelLoadsByExecutor");
    embeddingBatching = new MaxByKeyAccumulator();
    sc.register(embeddingBatching, prefix + "embeddingBatching");
  }

  /** Registers a fresh set of accumulators named {@code llmbatch.*} (visible in the Spark UI). */
  public static LlmBatchMetrics register(SparkContext sc) {
    return register(sc, "llmbatch.");
  }

  /** Registers a fresh set of accumulators whose names start with {@code prefix}. */
  public static LlmBatchMetrics register(SparkContext sc, String prefix) {
    return new LlmBatchMetrics(sc, prefix);
  }

  private static CountByKeyAccumulator countByKey(SparkContext sc, String name) {
    CountByKeyAccumulator a = new CountByKeyAccumulator();
    sc.register(a, name);
    return a;
  }

  // ---- executor side ----

  /** One row written, with its error code (null for success) and token counts. */
  public void row(String errorCode, long prompt, long completion) {
    rows.add(1);
    if (errorCode != null) {
      errors.add(errorCode);
    }
    if (prompt > 0) {
      promptTokens.add(prompt);
    }
    if (completion > 0) {
      completionTokens.add(completion);
    }
  }

  /** Time a task had requests inside the engine. */
  public void engineBusy(long nanos) {
    engineBusyMillis.add(nanos / 1_000_000);
  }

  /** A model load on executor {@code executorId}. */
  public void modelLoaded(String executorId) {
    modelLoads.add(1);
    loadsByExecutor.add(executorId == null ? "driver" : executorId);
  }

  /**
   * The embeddings scheduler's running totals on executor {@code executorId}, reported when a
   * task finishes; the driver keeps the last (largest) report of each executor.
   */
  public void embeddingBatching(String executorId, EmbeddingScheduler.Stats s) {
    String e = executorId == null ? "driver" : executorId;
    embeddingBatching.add(e + "/requests", s.requests());
    embeddingBatching.add(e + "/rows", s.rows());
    embeddingBatching.add(e + "/forwards", s.forwards());
    embeddingBatching.add(e + "/max_rows_per_forward", s.maxRowsPerForward());
    embeddingBatching.add(e + "/max_requests_per_forward", s.maxRequestsPerForward());
  }

  // ---- driver side ----

  /** Rows written (successes and errors). */
  public long rows() {
    return rows.value();
  }

  /** Errored rows by error code. */
  public Map<String, Long> errors() {
    return errors.value();
  }

  /** Prompt tokens over all successful rows. */
  public long promptTokens() {
    return promptTokens.value();
  }

  /** Completion tokens over all successful rows. */
  public long completionTokens() {
    return completionTokens.value();
  }

  /** Sum over tasks of the wall time each had requests in the engine, in milliseconds. */
  public long engineBusyMillis() {
    return engineBusyMillis.value();
  }

  /** Model loads over all executors. */
  public long modelLoads() {
    return modelLoads.value();
  }

  /** Model loads by executor id. */
  public Map<String, Long> modelLoadsByExecutor() {
    return loadsByExecutor.value();
  }

  /**
   * Cross-request batching of embeddings, per executor, as {@code <executor>/<figure>}: requests,
   * rows, forwards (running totals since the executor loaded the model, so a second job on the
   * same executors includes the first), max_rows_per_forward and max_requests_per_forward. Rows
   * per forward above one request's rows means requests (rows, tasks) shared forwards.
   */
  public Map<String, Long> embeddingBatching() {
    return embeddingBatching.value();
  }

  /** Every figure by name, for logs and job summaries. */
  public Map<String, Object> snapshot() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("rows", rows());
    m.put("errors", errors());
    m.put("prompt_tokens", promptTokens());
    m.put("completion_tokens", completionTokens());
    m.put("engine_busy_ms", engineBusyMillis());
    m.put("model_loads", modelLoads());
    m.put("model_loads_by_executor", modelLoadsByExecutor());
    if (!embeddingBatching().isEmpty()) {
      m.put("embedding_batching", embeddingBatching());
    }
    return m;
  }
}
