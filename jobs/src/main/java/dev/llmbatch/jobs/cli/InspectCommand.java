package dev.llmbatch.jobs.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.flavor.ModelSummary;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code llm-batch inspect <model-uri> [--json]}: what a logged model is and where its parts are,
 * read from its files only (no weights are loaded).
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = "Show a logged model's layout, task, architecture, parameter count, dtype,"
        + " weights location, tokenizer, chat template, model_config and prompt_template.")
public final class InspectCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "<model-uri>",
      description = "Folder holding MLmodel, or a file:// URI.")
  String modelUri;

  @Option(names = "--json", description = "Print one JSON object (keys: layout, task,"
      + " inference_task, architecture, model_type, parameters, dtype, weights_path, tokenizer,"
      + " chat_template, model_config, prompt_template).")
  boolean json;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    ModelSummary s = ModelSummary.of(ModelLocator.open(modelUri, System.getenv()));
    print(s, json, spec.commandLine().getOut());
    return 0;
  }

  /** Prints {@code s} as JSON (one line) or as aligned text. */
  public static void print(ModelSummary s, boolean json, PrintWriter out) throws Exception {
    if (json) {
      out.println(new ObjectMapper().writeValueAsString(s.toJsonMap()));
    } else {
      ObjectMapper mapper = new ObjectMapper();
      line(out, "layout", s.layout().name());
      line(out, "task", s.task() + (s.inferenceTask() == null ? "" : " (inference_task "
          + s.inferenceTask() + ")"));
      line(out, "architecture", s.architecture() + " (model_type " + s.modelType() + ")");
      line(out, "parameters", String.format(Locale.ROOT, "%,d (%s)", s.parameters(),
          human(s.parameters())));
      line(out, "dtype", "stored " + s.storedDtype() + ", torch_dtype "
          + (s.torchDtype() == null ? "not set" : s.torchDtype()));
      line(out, "weights", s.weightsPath());
      line(out, "tokenizer", s.tokenizer() == null ? "none"
          : s.tokenizer() + " at " + s.tokenizerPath());
      line(out, "chat template", s.chatTemplate() ? "yes" : "no");
      line(out, "model_config", s.modelConfig().isEmpty() ? "none"
          : mapper.writeValueAsString(s.modelConfig()));
      line(out, "prompt_template", s.promptTemplate() == null ? "none"
          : mapper.writeValueAsString(s.promptTemplate()));
    }
    out.flush();
  }

  private static void line(PrintWriter out, String key, String value) {
    out.printf(Locale.ROOT, "%-16s %s%n", key + ":", value);
  }

  private static String human(long n) {
    if (n >= 1_000_000_000L) {
      return String.format(Locale.ROOT, "%.2f B", n / 1e9);
    }
    if (n >= 1_000_000L) {
      return String.format(Locale.ROOT, "%.2f M", n / 1e6);
    }
    return String.format(Locale.ROOT, "%.1f K", n / 1e3);
  }
}
