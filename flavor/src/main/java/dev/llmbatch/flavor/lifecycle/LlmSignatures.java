package dev.llmbatch.flavor.lifecycle;

import dev.llmbatch.flavor.Signature;
import java.util.Map;

/**
 * The signatures MLflow logs for the llm/v1 tasks (column-based, each a JSON string), and for the
 * plain text-generation task. Other tasks get none, as MLflow infers them from an input example.
 */
final class LlmSignatures {
  private LlmSignatures() {}

  private static final String PARAMS = ", {\"type\": \"double\", \"name\": \"temperature\","
      + " \"required\": false}, {\"type\": \"long\", \"name\": \"max_tokens\", \"required\": false},"
      + " {\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"name\": \"stop\", \"required\":"
      + " false}, {\"type\": \"long\", \"name\": \"n\", \"required\": false}, {\"type\": \"boolean\","
      + " \"name\": \"stream\", \"required\": false}]";

  private static final String CHAT_IN = "[{\"type\": \"array\", \"items\": {\"type\": \"object\","
      + " \"properties\": {\"content\": {\"type\": \"string\", \"required\": true}, \"name\":"
      + " {\"type\": \"string\", \"required\": false}, \"role\": {\"type\": \"string\", \"required\":"
      + " true}}}, \"name\": \"messages\", \"required\": true}" + PARAMS;

  private static final String COMPLETIONS_IN = "[{\"type\": \"string\", \"name\": \"prompt\","
      + " \"required\": true}" + PARAMS;

  private static final String USAGE = "{\"type\": \"object\", \"properties\": {\"completion_tokens\":"
      + " {\"type\": \"long\", \"required\": true}, \"prompt_tokens\": {\"type\": \"long\","
      + " \"required\": true}, \"total_tokens\": {\"type\": \"long\", \"required\": true}},"
      + " \"name\": \"usage\", \"required\": true}";

  private static String out(String choice) {
    return "[{\"type\": \"string\", \"name\": \"id\", \"required\": true}, {\"type\": \"string\","
        + " \"name\": \"object\", \"required\": true}, {\"type\": \"long\", \"name\": \"created\","
        + " \"required\": true}, {\"type\": \"string\", \"name\": \"model\", \"required\": true},"
        + " {\"type\": \"array\", \"items\": {\"type\": \"object\", \"properties\": {"
        + choice + ", \"finish_reason\": {\"type\": \"string\", \"required\": true}, \"index\":"
        + " {\"type\": \"long\", \"required\": true}}}, \"name\": \"choices\", \"required\": true}, "
        + USAGE + "]";
  }

  private static final String CHAT_OUT = out("\"message\": {\"type\": \"object\", \"properties\":"
      + " {\"content\": {\"type\": \"string\", \"required\": true}, \"role\": {\"type\": \"string\","
      + " \"required\": true}}, \"required\": true}");

  private static final String COMPLETIONS_OUT = out("\"text\": {\"type\": \"string\","
      + " \"required\": true}");

  private static final String EMBEDDINGS_IN = "[{\"type\": \"string\", \"name\": \"input\","
      + " \"required\": true}]";

  private static final String EMBEDDINGS_OUT = "[{\"type\": \"string\", \"name\": \"object\","
      + " \"required\": true}, {\"type\": \"array\", \"items\": {\"type\": \"object\", \"properties\":"
      + " {\"embedding\": {\"type\": \"array\", \"items\": {\"type\": \"double\"}, \"required\":"
      + " true}, \"index\": {\"type\": \"long\", \"required\": true}, \"object\": {\"type\":"
      + " \"string\", \"required\": true}}}, \"name\": \"data\", \"required\": true}, {\"type\":"
      + " \"string\", \"name\": \"model\", \"required\": true}, {\"type\": \"object\", \"properties\":"
      + " {\"prompt_tokens\": {\"type\": \"long\", \"required\": true}, \"total_tokens\": {\"type\":"
      + " \"long\", \"required\": true}}, \"name\": \"usage\", \"required\": true}]";

  private static final String TEXT = "[{\"type\": \"string\", \"required\": true}]";

  /** The signature for {@code task}, or null. */
  static Signature forTask(TaskCatalog.Task task) {
    String llm = task.inferenceTask();
    if (llm != null) {
      return switch (llm) {
        case "llm/v1/chat" -> new Signature(CHAT_IN, CHAT_OUT, null, Map.of());
        case "llm/v1/completions" -> new Signature(COMPLETIONS_IN, COMPLETIONS_OUT, null, Map.of());
        case "llm/v1/embeddings" -> new Signature(EMBEDDINGS_IN, EMBEDDINGS_OUT, null, Map.of());
        default -> null;
      };
    }
    return task.task().equals("text-generation") ? new Signature(TEXT, TEXT, null, Map.of()) : null;
  }
}
