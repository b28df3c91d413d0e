package dev.llmbatch.flavor.lifecycle;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.MLmodel;
import dev.llmbatch.flavor.MLmodelWriter;
import dev.llmbatch.flavor.ModelMetadata;
import dev.llmbatch.flavor.PyFuncFlavor;
import dev.llmbatch.flavor.TransformersFlavor;
import dev.llmbatch.flavor.hf.HfConfig;
import dev.llmbatch.flavor.hf.TokenizerConfig;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import dev.llmbatch.flavor.uri.FileStore;
import dev.llmbatch.flavor.uri.MlflowEnvironment;
import dev.llmbatch.flavor.uri.MlflowStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs a local Hugging Face checkpoint as a Transformers-flavor model, the way MLflow's
 * memory-efficient checkpoint mode does, without reading weight data (safetensors headers only):
 * {@code model/} holds the checkpoint (hard-linked, or copied across filesystems),
 * {@code components/tokenizer/} the tokenizer files, {@code MLmodel} every key MLflow writes for
 * that mode. The task is checked against the model class first. With a reference
 * ({@code REPO@SHA}) only the reference-only MLmodel and environment files are written. The output
 * is assembled in a hidden sibling folder and moved into place last, so a failed log leaves nothing.
 */
public final class ModelLogger {
  private static final Logger LOG = LoggerFactory.getLogger(ModelLogger.class);
  /** The MLflow release whose MLmodel format (checkpoint and reference-only modes) is written. */
  public static final String MLFLOW_FORMAT_VERSION = "2.19.0";
  /** The python_version recorded for MLflow's environment restore. */
  public static final String PYTHON_VERSION = "3.11.9";
  private static final String FALLBACK_TRANSFORMERS_VERSION = "4.46.3";
  private static final DateTimeFormatter UTC_CREATED =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

  private final MlflowEnvironment env;

  /** A logger registering (when asked) into the registry {@code env} names. */
  public ModelLogger(MlflowEnvironment env) {
    this.env = env;
  }

  /**
   * What was written.
   *
   * @param output the logged model folder
   * @param mlmodel the MLmodel written
   * @param registeredVersion the registry version created, or null
   * @param linkedFiles files hard-linked into the output
   * @param copiedFiles files copied into the output
   */
  public record Result(Path output, MLmodel mlmodel, Integer registeredVersion, int linkedFiles,
      int copiedFiles) {}

  /** Logs as {@code request} says; throws {@link FlavorException} naming the file and the fix. */
  public Result log(LogRequest request) {
    Path checkpoint = request.checkpoint().toAbsolutePath().normalize();
    if (!Files.isDirectory(checkpoint)) {
      throw FlavorException.of("Cannot log %s: no such folder (--checkpoint must be a local"
          + " Hugging Face checkpoint folder)", checkpoint);
    }
    HfConfig config = HfConfig.read(checkpoint);
    String architecture = config.architecture().orElseThrow(() -> FlavorException.of(
        "Cannot log %s: config.json has no 'architectures' entry, so the model class (and the"
            + " tasks it serves) is unknown; save the checkpoint with save_pretrained", checkpoint));
    TaskCatalog.Task task = TaskCatalog.resolve(request.task(), architecture);
    long weightBytes;
    try (WeightFiles weights = WeightFiles.open(checkpoint)) {
      weightBytes = weights.byteCount(); // headers only: validates every shard, reads no tensor data
    }
    String tokenizerType = tokenizerType(checkpoint, task);
    checkSnapshotRevision(checkpoint, request);
    Path output = request.output().toAbsolutePath().normalize();
    Path stage = prepareStage(output);
    int[] counts = new int[2];
    try {
      if (request.reference() == null) {
        counts = linkTree(checkpoint, stage.resolve("model"), request.copy(), rel -> true);
        int[] tok = linkTree(checkpoint, stage.resolve("components/tokenizer"), request.copy(),
            CheckpointFiles::isTokenizerFile);
        counts[0] += tok[0];
        counts[1] += tok[1];
      }
      if (request.peft() != null) {
        copyPeft(request.peft(), stage.resolve("peft"));
      }
      writeEnvironment(stage, config);
      MLmodel mlmodel = mlmodel(request, checkpoint, config, architecture, task, tokenizerType,
          CheckpointFiles.size(stage));
      MLmodelWriter.write(mlmodel, stage.resolve(MLmodel.FILE_NAME));
      publish(stage, output);
      LOG.info("Logged {} ({}, task {}, {} MB of weights, {} files linked, {} copied) to {}",
          checkpoint, architecture, request.task(), weightBytes >> 20, counts[0], counts[1],
          output);
      Integer version = null;
      if (request.register() != null) {
        version = register(request.register(), output);
      }
      return new Result(output, mlmodel, version, counts[0], counts[1]);
    } finally {
      CheckpointFiles.deleteTree(stage);
    }
  }

  private MLmodel mlmodel(LogRequest r, Path checkpoint, HfConfig config, String architecture,
      TaskCatalog.Task task, String tokenizerType, long size) {
    boolean reference = r.reference() != null;
    TransformersFlavor.Component tokenizer = new TransformersFlavor.Component("tokenizer",
        tokenizerType, reference ? r.referenceRepo() : null,
        reference ? r.referenceRevision() : null);
    TransformersFlavor flavor = new TransformersFlavor(
        config.raw().path("transformers_version").asText(FALLBACK_TRANSFORMERS_VERSION), null,
        task.task(), task.inferenceTask(), task.instanceType(), "pt", r.torchDtype(), architecture,
        reference ? r.referenceRepo() : checkpoint.toString(), reference ? null : "model",
        reference ? r.referenceRevision() : null, List.of(tokenizer),
        r.peft() == null ? null : "peft", r.peft() != null && !reference ? Boolean.TRUE : null,
        Map.of());
    PyFuncFlavor pyFunc = new PyFuncFlavor("mlflow.transformers", PYTHON_VERSION,
        Map.of("conda", "conda.yaml", "virtualenv", "python_env.yaml"), r.modelConfig(), Map.of());
    ModelMetadata metadata = task.inferenceTask() == null ? ModelMetadata.EMPTY
        : new ModelMetadata(task.inferenceTask(), null, Map.of());
    return new MLmodel(r.name(), MLFLOW_FORMAT_VERSION,
        UUID.randomUUID().toString().replace("-", ""), null, null,
        ZonedDateTime.now(ZoneOffset.UTC).format(UTC_CREATED), size, flavor, pyFunc, Map.of(),
        LlmSignatures.forTask(task), null, metadata, Map.of());
  }

  /** MLflow records the loaded tokenizer class: the fast variant when tokenizer.json exists. */
  private static String tokenizerType(Path checkpoint, TaskCatalog.Task task) {
    boolean fast = Files.isRegularFile(checkpoint.resolve("tokenizer.json"));
    Optional<TokenizerConfig> tc = TokenizerConfig.read(checkpoint);
    if (!fast && tc.isEmpty()) {
      throw FlavorException.of("Cannot log %s: it has no tokenizer (no tokenizer.json or"
          + " tokenizer_config.json); save the tokenizer into the checkpoint folder with"
          + " tokenizer.save_pretrained(dir)", checkpoint);
    }
    if ("llm/v1/chat".equals(task.inferenceTask())
        && tc.map(t -> !t.hasChatTemplate()).orElse(true)) {
      throw FlavorException.of("Cannot log %s for llm/v1/chat: the tokenizer has no chat template"
          + " (tokenizer_config.json chat_template or chat_template.jinja), and transformers has"
          + " no default template; add one, or log with --task llm/v1/completions", checkpoint);
    }
    String cls = tc.map(TokenizerConfig::tokenizerClass).orElse(null);
    if (cls == null) {
      return fast ? "PreTrainedTokenizerFast" : "PreTrainedTokenizer";
    }
    return fast && !cls.endsWith("Fast") ? cls + "Fast" : cls;
  }

  /** A checkpoint inside a hub cache snapshot must be the commit the reference names. */
  private static void checkSnapshotRevision(Path checkpoint, LogRequest r) {
    if (r.reference() == null) {
      return;
    }
    Path parent = checkpoint.getParent();
    if (parent != null && parent.getFileName() != null
        && parent.getFileName().toString().equals("snapshots")
        && checkpoint.getFileName().toString().matches("[0-9a-f]{40}")
        && !checkpoint.getFileName().toString().equals(r.referenceRevision())) {
      throw FlavorException.of("Cannot log %s as a reference to %s: the checkpoint is snapshot %s"
          + " of the hub cache, not %s; pass --reference %s@%s", checkpoint, r.reference(),
          checkpoint.getFileName(), r.referenceRevision(), r.referenceRepo(),
          checkpoint.getFileName());
    }
  }

  private static Path prepareStage(Path output) {
    try {
      if (Files.exists(output)) {
        boolean empty;
        try (Stream<Path> s = Files.list(output)) {
          empty = s.findAny().isEmpty();
        }
        if (!empty) {
          throw FlavorException.of("Cannot log to %s: the folder exists and is not empty; choose"
              + " a new --output (a logged model is never overwritten)", output);
        }
      }
      Files.createDirectories(output.getParent());
      return Files.createTempDirectory(output.getParent(), "." + output.getFileName() + ".log-");
    } catch (IOException e) {
      throw new FlavorException("Cannot log to " + output + ": " + e, e);
    }
  }

  private static void publish(Path stage, Path output) {
    try {
      Files.deleteIfExists(output); // only ever an empty folder here
      Files.move(stage, output, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new FlavorException("Cannot move the logged model into " + output + ": " + e, e);
    }
  }

  private static int[] linkTree(Path from, Path to, boolean copy,
      java.util.function.Predicate<String> include) {
    int[] counts = new int[2];
    for (String rel : CheckpointFiles.list(from)) {
      if (!include.test(rel)) {
        continue;
      }
      try {
        counts[CheckpointFiles.linkOrCopy(from.resolve(rel), to.resolve(rel), copy) ? 0 : 1]++;
      } catch (IOException e) {
        throw new FlavorException("Cannot log " + from + ": copying " + rel + " failed: " + e, e);
      }
    }
    return counts;
  }

  private static void copyPeft(Path peft, Path to) {
    for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) {
      if (!Files.isRegularFile(peft.resolve(f))) {
        throw FlavorException.of("Cannot log PEFT adapter %s: %s is missing (save the adapter with"
            + " model.save_pretrained(dir, safe_serialization=True))", peft, f);
      }
    }
    linkTree(peft, to, true, rel -> !rel.contains("/"));
  }

  private static void writeEnvironment(Path stage, HfConfig config) {
    String tf = config.raw().path("transformers_version").asText(FALLBACK_TRANSFORMERS_VERSION);
    String reqs = "mlflow==" + MLFLOW_FORMAT_VERSION + "\ntransformers==" + tf + "\ntorch\n"
        + "accelerate\n";
    try {
      Files.writeString(stage.resolve("requirements.txt"), reqs, StandardCharsets.UTF_8);
      Files.writeString(stage.resolve("python_env.yaml"), "python: " + PYTHON_VERSION
          + "\nbuild_dependencies:\n- pip\n- setuptools\n- wheel\ndependencies:\n"
          + "- -r requirements.txt\n", StandardCharsets.UTF_8);
      Files.writeString(stage.resolve("conda.yaml"), "channels:\n- conda-forge\ndependencies:\n"
          + "- python=" + PYTHON_VERSION + "\n- pip\n- pip:\n" + reqs.lines()
              .map(l -> "  - " + l + "\n").reduce("", String::concat) + "name: mlflow-env\n",
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new FlavorException("Cannot write environment files into " + stage + ": " + e, e);
    }
  }

  private int register(String name, Path output) {
    MlflowStore store = env.registryStore();
    if (!(store instanceof FileStore fs)) {
      throw FlavorException.of("Cannot register %s as '%s': --register writes to a file-store"
          + " registry, but MLFLOW_REGISTRY_URI / MLFLOW_TRACKING_URI is %s; the model was logged"
          + " to %s, register it with mlflow.register_model", output, name, env.registryUri(),
          output);
    }
    int v = new FileRegistry(fs.root()).register(name, output.toUri().toString());
    LOG.info("Registered {} as models:/{}/{} in {}", output, name, v, fs.root());
    return v;
  }
}
