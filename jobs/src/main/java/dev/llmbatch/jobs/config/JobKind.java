package dev.llmbatch.jobs.config;

import java.util.Locale;

/** What a job serves: one llm/v1 task per table, or an OpenAI Batch file mixing them by url. */
public enum JobKind {
  CHAT("/v1/chat/completions"),
  COMPLETIONS("/v1/completions"),
  EMBEDDINGS("/v1/embeddings"),
  BATCH(null);

  private final String url;

  JobKind(String url) {
    this.url = url;
  }

  /** The OpenAI endpoint path a Batch API line names for this kind; null for BATCH itself. */
  public String url() {
    return url;
  }

  /** The command name, e.g. {@code chat}. */
  public String command() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Whether this kind generates text (and so takes sampling parameters). */
  public boolean generates() {
    return this == CHAT || this == COMPLETIONS || this == BATCH;
  }
}
