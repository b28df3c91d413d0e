package dev.llmbatch.jobs.batch;

/**
 * One served Batch API line: the output JSON and what the run summary counts from it.
 *
 * @param customId the line's {@code custom_id}; null when the line had none (unparseable)
 * @param json the output line (no trailing newline)
 * @param errorCode null when served, else the error's code
 * @param promptTokens prompt tokens (0 on error)
 * @param completionTokens completion tokens (0 on error and for embeddings)
 * @param model the response's {@code model}; null on error
 * @param fingerprint the response's {@code system_fingerprint}; null on error or for embeddings
 */
public record ServedLine(String customId, String json, String errorCode, long promptTokens,
    long completionTokens, String model, String fingerprint) {
  public ServedLine {
    if (json == null || json.isEmpty()) {
      throw new IllegalArgumentException("Invalid served line: empty json");
    }
  }
}
