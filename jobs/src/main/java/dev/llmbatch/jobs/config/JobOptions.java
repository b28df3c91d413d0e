package dev.llmbatch.jobs.config;

import java.util.List;
import java.util.Set;

/**
 * Every job option key in one holder. A key is the long command-line option without its dashes
 * ({@code --max-tokens} is {@code max-tokens}); the YAML conf file uses the same keys, with
 * {@code max_tokens} accepted as a spelling of {@code max-tokens}. Defaults sit beside their key.
 */
public final class JobOptions {
  private JobOptions() {}

  // --- model
  /** Model URI: a local MLflow model folder, file:, s3a:, runs:/ or models:/. Required. */
  public static final String MODEL = "model";
  /** Device for executors' models: auto (the task's Spark-assigned GPU, else CPU), cpu, gpu, gpu:N. */
  public static final String DEVICE = "device";
  public static final String DEVICE_DEFAULT = "auto";
  /**
   * What executors' models compute in: auto (FP32 on CPU; on a GPU the logged torch_dtype, FP16
   * for bf16/fp16), fp32, or fp16 (GPU only: refused on CPU, where FP16 matmul is unusable).
   */
  public static final String DTYPE = "dtype";
  public static final String DTYPE_DEFAULT = "auto";

  // --- input
  /** Input path (file or folder; s3a:// works). One of input / input-table. */
  public static final String INPUT = "input";
  /** Input catalog table. */
  public static final String INPUT_TABLE = "input-table";
  /** parquet, json (JSON lines), csv, orc, delta, text; inferred from the path when absent. */
  public static final String INPUT_FORMAT = "input-format";
  /** Repartition the rows to serve into this many partitions (0 keeps the input's partitioning). */
  public static final String PARTITIONS = "partitions";
  public static final int PARTITIONS_DEFAULT = 0;

  // --- columns
  /** Row key: makes ids and seeds reproducible, and is what --resume skips on. */
  public static final String ID_COL = "id-col";
  /** Chat: array of {role, content} structs, or a JSON string of that array. */
  public static final String MESSAGES_COL = "messages-col";
  public static final String MESSAGES_COL_DEFAULT = "messages";
  /** Completions: the prompt string; chat: a user message built from it when no messages column. */
  public static final String PROMPT_COL = "prompt-col";
  public static final String PROMPT_COL_DEFAULT = "prompt";
  /** Embeddings: a string or array of strings. */
  public static final String INPUT_COL = "input-col";
  public static final String INPUT_COL_DEFAULT = "input";
  /** Chat from a prompt column: an optional system message put before each user message. */
  public static final String SYSTEM_PROMPT = "system-prompt";
  /** Names of the two columns added to the output. */
  public static final String RESPONSE_COL = "response-col";
  public static final String RESPONSE_COL_DEFAULT = "response";
  public static final String ERROR_COL = "error-col";
  public static final String ERROR_COL_DEFAULT = "error";

  // --- sampling (job level; a row's own value wins, then these, then the model's defaults)
  public static final String TEMPERATURE = "temperature";
  public static final String MAX_TOKENS = "max-tokens";
  public static final String STOP = "stop";
  public static final String TOP_P = "top-p";
  public static final String TOP_K = "top-k";
  public static final String SEED = "seed";
  public static final String N = "n";
  public static final String IGNORE_EOS = "ignore-eos";
  public static final String PRESENCE_PENALTY = "presence-penalty";
  public static final String FREQUENCY_PENALTY = "frequency-penalty";
  /** Embeddings: truncate to this many dimensions, then re-normalise. */
  public static final String DIMENSIONS = "dimensions";

  // --- output
  /** Output path (s3a:// works). One of output / output-table. */
  public static final String OUTPUT = "output";
  public static final String OUTPUT_TABLE = "output-table";
  /** parquet, json, csv, orc, delta; batch jobs always write JSON lines. */
  public static final String OUTPUT_FORMAT = "output-format";
  public static final String OUTPUT_FORMAT_DEFAULT = "parquet";
  /** Columns to partition the output by (repeatable or comma separated). */
  public static final String PARTITION_BY = "partition-by";
  /** errorifexists, overwrite, append, ignore. */
  public static final String MODE = "mode";
  public static final String MODE_DEFAULT = "errorifexists";
  /** Compute only the keys not yet in the output, and append them. */
  public static final String RESUME = "resume";
  /** Where the run summary goes; default {@code <output>/_llm_batch_summary.json}. */
  public static final String SUMMARY = "summary";
  public static final String SUMMARY_FILE = "_llm_batch_summary.json";

  // --- session
  /** Master for an embedded session (ignored under spark-submit, which sets its own). */
  public static final String MASTER = "master";
  public static final String MASTER_DEFAULT = "local[*]";
  /** Extra Spark settings, {@code key=value}. */
  public static final String SPARK_CONF = "spark-conf";
  /** Console progress bar when running locally; auto means when a terminal is attached. */
  public static final String PROGRESS = "progress";
  public static final String PROGRESS_DEFAULT = "auto";

  /** Keys a conf file may hold. */
  public static final Set<String> ALL = Set.copyOf(List.of(
      MODEL, DEVICE, DTYPE, INPUT, INPUT_TABLE, INPUT_FORMAT, PARTITIONS, ID_COL, MESSAGES_COL, PROMPT_COL,
      INPUT_COL, SYSTEM_PROMPT, RESPONSE_COL, ERROR_COL, TEMPERATURE, MAX_TOKENS, STOP, TOP_P,
      TOP_K, SEED, N, IGNORE_EOS, PRESENCE_PENALTY, FREQUENCY_PENALTY, DIMENSIONS, OUTPUT,
      OUTPUT_TABLE, OUTPUT_FORMAT, PARTITION_BY, MODE, RESUME, SUMMARY, MASTER, SPARK_CONF,
      PROGRESS));
}
