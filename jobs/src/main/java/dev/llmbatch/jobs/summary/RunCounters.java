package dev.llmbatch.jobs.summary;

import java.util.Map;
import org.apache.spark.SparkContext;
import org.apache.spark.util.LongAccumulator;

/**
 * The counters of one run, registered on the driver and updated by the tasks that write the output.
 * They are updated inside the writing (result) stage, where Spark applies each task's updates once,
 * so a retried task is not counted twice.
 */
public final class RunCounters implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  /** Rows that went through the model in this run (resume skips the rest). */
  public final LongAccumulator rows;
  /** Of those, rows whose error column is set. */
  public final LongAccumulator errorRows;
  public final LongAccumulator promptTokens;
  public final LongAccumulator completionTokens;
  /** Finished partitions (tasks) of the write. */
  public final LongAccumulator partitions;
  /** Error rows per error code. */
  public final CountsAccumulator errorCodes;
  /** Rows per {@code response.model} / {@code response.system_fingerprint} pair. */
  public final CountsAccumulator models;

  /** Registers a fresh set of counters named {@code llm-batch.*} (visible in the Spark UI). */
  public RunCounters(SparkContext sc) {
    rows = sc.longAccumulator("llm-batch.rows");
    errorRows = sc.longAccumulator("llm-batch.error_rows");
    promptTokens = sc.longAccumulator("llm-batch.prompt_tokens");
    completionTokens = sc.longAccumulator("llm-batch.completion_tokens");
    partitions = sc.longAccumulator("llm-batch.partitions");
    errorCodes = new CountsAccumulator();
    sc.register(errorCodes, "llm-batch.error_codes");
    models = new CountsAccumulator();
    sc.register(models, "llm-batch.models");
  }

  /** Error rows per code, read on the driver after the write. */
  public Map<String, Long> errorsByCode() {
    return errorCodes.value();
  }
}
