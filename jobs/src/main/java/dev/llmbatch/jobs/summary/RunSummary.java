package dev.llmbatch.jobs.summary;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.Locale;
import java.util.Map;

/**
 * What one run did, in the shape written to {@code _llm_batch_summary.json} (snake_case keys, for
 * Airflow XCom and Databricks task values). {@code rowsIn} counts the input; {@code rowsSkipped}
 * the rows --resume found already written; {@code rowsOut} the rows this run wrote.
 */
@JsonPropertyOrder(alphabetic = false)
public record RunSummary(
    @JsonProperty("job") String job,
    @JsonProperty("status") String status,
    @JsonProperty("model") String model,
    @JsonProperty("served_model") String servedModel,
    @JsonProperty("model_fingerprint") String modelFingerprint,
    @JsonProperty("input") String input,
    @JsonProperty("output") String output,
    @JsonProperty("resume") boolean resume,
    @JsonProperty("started_at") String startedAt,
    @JsonProperty("wall_time_s") double wallTimeS,
    @JsonProperty("rows_in") long rowsIn,
    @JsonProperty("rows_skipped") long rowsSkipped,
    @JsonProperty("rows_out") long rowsOut,
    @JsonProperty("error_rows") long errorRows,
    @JsonProperty("errors_by_code") Map<String, Long> errorsByCode,
    @JsonProperty("prompt_tokens") long promptTokens,
    @JsonProperty("completion_tokens") long completionTokens,
    @JsonProperty("rows_per_s") double rowsPerS,
    @JsonProperty("output_tokens_per_s") double outputTokensPerS,
    @JsonProperty("partitions") long partitions,
    @JsonProperty("spark_master") String sparkMaster,
    @JsonProperty("spark_app_id") String sparkAppId) {

  public RunSummary {
    errorsByCode = Map.copyOf(errorsByCode);
  }

  /** Throughput from counts and wall time (0 when nothing ran). */
  public static double rate(long count, double seconds) {
    return seconds <= 0 ? 0 : Math.round(count / seconds * 100.0) / 100.0;
  }

  /** The human-readable block printed at the end of a run. */
  public String render() {
    StringBuilder sb = new StringBuilder();
    sb.append("llm-batch ").append(job).append(": ").append(status).append('\n');
    line(sb, "model", model + (servedModel.isEmpty() || servedModel.equals(model) ? ""
        : " (served as " + servedModel + ")"));
    line(sb, "fingerprint", modelFingerprint.isEmpty() ? "-" : modelFingerprint);
    line(sb, "input", input);
    line(sb, "output", output);
    line(sb, "rows", String.format(Locale.ROOT, "%d in, %d written, %d skipped (already written)",
        rowsIn, rowsOut, rowsSkipped));
    line(sb, "errors", errorRows == 0 ? "none" : errorRows + " " + errorsByCode);
    line(sb, "tokens", String.format(Locale.ROOT, "%d prompt, %d completion", promptTokens,
        completionTokens));
    line(sb, "time", String.format(Locale.ROOT, "%.1f s, %.2f rows/s, %.1f output tokens/s",
        wallTimeS, rowsPerS, outputTokensPerS));
    return sb.toString();
  }

  private static void line(StringBuilder sb, String k, String v) {
    sb.append(String.format(Locale.ROOT, "  %-12s %s%n", k, v));
  }
}
