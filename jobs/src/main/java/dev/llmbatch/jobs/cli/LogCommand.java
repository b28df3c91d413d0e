package dev.llmbatch.jobs.cli;

import dev.llmbatch.flavor.lifecycle.LogRequest;
import dev.llmbatch.flavor.lifecycle.ModelLogger;
import dev.llmbatch.flavor.uri.MlflowEnvironment;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code llm-batch log}: logs a local Hugging Face checkpoint as an MLflow Transformers-flavor model
 * (MLflow's memory-efficient checkpoint mode, done in Java without reading weight data), or its
 * reference-only form, and optionally registers it in a file-store registry.
 */
@Command(name = "log", mixinStandardHelpOptions = true,
    description = "Write a complete Transformers-flavor model folder from a local checkpoint"
        + " (weights hard-linked, never read; the task checked against the model class).")
public final class LogCommand implements Callable<Integer> {
  @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
      description = "Local checkpoint folder: config.json, safetensors weights, tokenizer files.")
  Path checkpoint;

  @Option(names = "--task", required = true, paramLabel = "TASK",
      description = "llm/v1/chat, llm/v1/completions, llm/v1/embeddings, or a pipeline task"
          + " (text-generation, feature-extraction, ...).")
  String task;

  @Option(names = "--output", required = true, paramLabel = "DIR",
      description = "Folder to create (must not exist, or be empty).")
  Path output;

  @Option(names = "--name", paramLabel = "N", description = "artifact_path (default: model).")
  String name;

  @Option(names = "--model-config", paramLabel = "k=v",
      description = "Inference default for model_config, repeatable (e.g. max_tokens=256).")
  List<String> modelConfig = new ArrayList<>();

  @Option(names = "--reference", paramLabel = "REPO@SHA",
      description = "Write the reference-only form pinned to this hub commit (no weights).")
  String reference;

  @Option(names = "--register", paramLabel = "NAME",
      description = "Register the result as the next version of NAME in the file-store registry"
          + " (MLFLOW_REGISTRY_URI, else MLFLOW_TRACKING_URI, else ./mlruns).")
  String register;

  @Option(names = "--torch-dtype", paramLabel = "DTYPE",
      description = "torch_dtype to record: bfloat16, float16 or float32 (default: none, as MLflow).")
  String torchDtype;

  @Option(names = "--peft", paramLabel = "DIR",
      description = "A PEFT LoRA adapter folder to log with the model (merged at load).")
  Path peft;

  @Option(names = "--copy", description = "Copy files into model/ instead of hard-linking them.")
  boolean copy;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private final Map<String, String> env;

  /** Reads MLflow settings from the process environment. */
  public LogCommand() {
    this(System.getenv());
  }

  /** Reads MLflow settings from {@code env} (tests). */
  public LogCommand(Map<String, String> env) {
    this.env = env;
  }

  @Override
  public Integer call() {
    LogRequest request = new LogRequest(checkpoint, task, output, name,
        LogRequest.parseModelConfig(modelConfig), reference, register, torchDtype, peft, copy);
    ModelLogger.Result r = new ModelLogger(MlflowEnvironment.of(env, Path.of(""))).log(request);
    PrintWriter out = spec.commandLine().getOut();
    var f = r.mlmodel().transformers();
    out.printf("Logged %s (%s, task %s%s) to %s: %s%n", checkpoint, f.pipelineModelType(),
        f.task(), f.inferenceTask() == null ? "" : ", inference_task " + f.inferenceTask(),
        r.output(), reference != null ? "reference-only, pinned to " + reference
            : r.linkedFiles() + " files hard-linked, " + r.copiedFiles() + " copied");
    if (r.registeredVersion() != null) {
      out.printf("Registered as models:/%s/%d%n", register, r.registeredVersion());
    }
    out.flush();
    return 0;
  }
}
