package dev.llmbatch.flavor.lifecycle;

import dev.llmbatch.flavor.FlavorException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which tasks a model class can serve, checked when a model is logged (MLflow only finds a wrong
 * task at load time). The model class is {@code config.json architectures[0]}; its head decides:
 * a causal-LM head generates text, a bare encoder or a masked-LM head embeds, a classification
 * head classifies.
 */
public final class TaskCatalog {
  private TaskCatalog() {}

  /**
   * A task as MLmodel stores it.
   *
   * @param task the HF pipeline task ({@code text-generation}, {@code feature-extraction}, ...)
   * @param inferenceTask the llm/v1 task, or null
   * @param instanceType the pipeline class MLflow records
   */
  public record Task(String task, String inferenceTask, String instanceType) {}

  private enum Head {
    // a decoder also embeds (Qwen3-Embedding's config.json names Qwen3ForCausalLM): last-token
    CAUSAL_LM(List.of("llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings", "text-generation",
        "feature-extraction")),
    SEQ2SEQ_LM(List.of("text2text-generation", "summarization", "translation")),
    ENCODER(List.of("llm/v1/embeddings", "feature-extraction")),
    MASKED_LM(List.of("fill-mask", "llm/v1/embeddings", "feature-extraction")),
    SEQUENCE_CLASSIFICATION(List.of("text-classification")),
    TOKEN_CLASSIFICATION(List.of("token-classification")),
    QUESTION_ANSWERING(List.of("question-answering"));

    final List<String> tasks;

    Head(List<String> tasks) {
      this.tasks = tasks;
    }
  }

  private static Head head(String architecture) {
    String a = architecture;
    if (a.endsWith("ForCausalLM") || a.endsWith("LMHeadModel")) {
      return Head.CAUSAL_LM;
    }
    if (a.endsWith("ForConditionalGeneration") || a.endsWith("ForSeq2SeqLM")) {
      return Head.SEQ2SEQ_LM;
    }
    if (a.endsWith("ForMaskedLM") || a.endsWith("ForPreTraining")) {
      return Head.MASKED_LM;
    }
    if (a.endsWith("ForSequenceClassification")) {
      return Head.SEQUENCE_CLASSIFICATION;
    }
    if (a.endsWith("ForTokenClassification")) {
      return Head.TOKEN_CLASSIFICATION;
    }
    if (a.endsWith("ForQuestionAnswering")) {
      return Head.QUESTION_ANSWERING;
    }
    if (a.endsWith("Model")) {
      return Head.ENCODER;
    }
    return null;
  }

  /** The tasks {@code architecture} can serve, llm/v1 ones first. */
  public static List<String> validTasks(String architecture) {
    Head h = head(architecture);
    return h == null ? List.of() : h.tasks;
  }

  /**
   * Checks {@code task} against {@code architecture} and returns how MLmodel stores it; throws
   * naming the architecture and listing the valid tasks.
   */
  public static Task resolve(String task, String architecture) {
    String t = task == null ? "" : task.trim().toLowerCase(Locale.ROOT);
    Head h = head(architecture);
    if (h == null) {
      throw FlavorException.of("Cannot log a %s model: this model class has no known head (one of"
          + " *ForCausalLM, *LMHeadModel, *ForMaskedLM, *ForSequenceClassification, *Model ...), so"
          + " no task can be checked against it", architecture);
    }
    if (!h.tasks.contains(t)) {
      throw FlavorException.of("Cannot log %s with task '%s': a %s serves only %s (from"
          + " config.json architectures[0]); pass one of them with --task", architecture, task,
          architecture, h.tasks);
    }
    return switch (t) {
      case "llm/v1/chat", "llm/v1/completions" -> new Task("text-generation", t,
          "TextGenerationPipeline");
      case "llm/v1/embeddings" -> new Task("feature-extraction", t, "FeatureExtractionPipeline");
      default -> new Task(t, null, pipelineClass(t));
    };
  }

  private static String pipelineClass(String task) {
    if (task.equals("text2text-generation")) {
      return "Text2TextGenerationPipeline";
    }
    StringBuilder sb = new StringBuilder();
    for (String part : task.split("-")) {
      sb.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
    }
    return sb.append("Pipeline").toString();
  }

  /** All tasks known here, for help text. */
  public static List<String> allTasks() {
    List<String> all = new ArrayList<>();
    for (Head h : Head.values()) {
      h.tasks.stream().filter(x -> !all.contains(x)).forEach(all::add);
    }
    return all;
  }
}
