package dev.llmbatch.jobs.config;

/**
 * Column names a job reads and writes. {@code id} may be null (then rows have no stable key and
 * --resume is refused); the others have defaults from {@link JobOptions}.
 */
public record Columns(
    String id, String messages, String prompt, String input, String systemPrompt,
    String response, String error) {

  public Columns {
    messages = orDefault(messages, JobOptions.MESSAGES_COL_DEFAULT);
    prompt = orDefault(prompt, JobOptions.PROMPT_COL_DEFAULT);
    input = orDefault(input, JobOptions.INPUT_COL_DEFAULT);
    response = orDefault(response, JobOptions.RESPONSE_COL_DEFAULT);
    error = orDefault(error, JobOptions.ERROR_COL_DEFAULT);
  }

  private static String orDefault(String v, String d) {
    return v == null || v.isBlank() ? d : v;
  }
}
