package dev.llmbatch.udf.rows;

/** The three OpenAI endpoints served, with their MLflow llm/v1 task names. */
public enum Endpoint {
  CHAT("llm/v1/chat", "/v1/chat/completions"),
  COMPLETIONS("llm/v1/completions", "/v1/completions"),
  EMBEDDINGS("llm/v1/embeddings", "/v1/embeddings");

  private final String task;
  private final String url;

  Endpoint(String task, String url) {
    this.task = task;
    this.url = url;
  }

  /** The MLflow inference task, e.g. {@code llm/v1/chat}. */
  public String task() {
    return task;
  }

  /** The OpenAI URL path, e.g. {@code /v1/chat/completions}. */
  public String url() {
    return url;
  }
}
