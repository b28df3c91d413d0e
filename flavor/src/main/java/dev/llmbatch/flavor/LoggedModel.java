package dev.llmbatch.flavor;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.flavor.hf.GenerationConfig;
import dev.llmbatch.flavor.hf.HfCache;
import dev.llmbatch.flavor.hf.HfConfig;
import dev.llmbatch.flavor.hf.SentenceTransformers;
import dev.llmbatch.flavor.hf.SpecialTokensMap;
import dev.llmbatch.flavor.hf.TokenizerConfig;
import dev.llmbatch.flavor.internal.JsonFiles;
import dev.llmbatch.flavor.internal.Nodes;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * A Transformers-flavor model resolved to local folders: its root, parsed MLmodel, {@link Layout},
 * the folder holding the weights and config.json (in the artifact or a Hugging Face cache
 * snapshot), the tokenizer folder, and typed views of the HF files. Opening validates the layout
 * and reads config.json; weights are only opened on request.
 */
public final class LoggedModel {
  /** The weights folder of models before MLflow 2.4.1. */
  public static final String LEGACY_PIPELINE_DIR = "pipeline";
  /** Where MLflow saves components, e.g. {@code components/tokenizer}. */
  public static final String COMPONENTS_DIR = "components";
  /** Old JSON model_config of legacy models. */
  public static final String LEGACY_INFERENCE_CONFIG = "components/inference_config.txt";

  private final Path root;
  private final MLmodel mlmodel;
  private final Layout layout;
  private final Path weightsDir;
  private final Path tokenizerDir;
  private final Path peftDir;
  private final HfConfig config;

  private LoggedModel(Path root, MLmodel mlmodel, Layout layout, Path weightsDir, Path tokenizerDir,
      Path peftDir, HfConfig config) {
    this.root = root;
    this.mlmodel = mlmodel;
    this.layout = layout;
    this.weightsDir = weightsDir;
    this.tokenizerDir = tokenizerDir;
    this.peftDir = peftDir;
    this.config = config;
  }

  /**
   * Opens the model logged at {@code root} (the folder holding MLmodel, or the MLmodel file);
   * reference-only models are resolved offline in {@code cache}.
   */
  public static LoggedModel open(Path root, HfCache cache) {
    Path dir = root.toAbsolutePath().normalize();
    if (Files.isRegularFile(dir) && dir.getFileName().toString().equals(MLmodel.FILE_NAME)) {
      dir = dir.getParent();
    }
    if (!Files.isDirectory(dir)) {
      throw new FlavorException("Cannot open model " + dir + ": no such folder; the model URI must"
          + " point at the folder MLflow logged (the one holding MLmodel)");
    }
    Path file = dir.resolve(MLmodel.FILE_NAME);
    MLmodel mlmodel = MLmodelReader.read(file);
    TransformersFlavor flavor = mlmodel.requireTransformers(file.toString());

    Layout layout;
    Path weights;
    if (flavor.modelBinary() != null) {
      weights = ModelPaths.inside(dir, flavor.modelBinary(), "model_binary", file);
      if (!Files.isDirectory(weights)) {
        throw new FlavorException("Cannot open model " + dir + ": model_binary '"
            + flavor.modelBinary() + "' in " + file + " names " + weights + ", which does not"
            + " exist; copy the complete artifact folder, or run `llm-batch persist` again");
      }
      layout = isLocalPath(flavor.sourceModelName()) ? Layout.CHECKPOINT : Layout.PIPELINE;
    } else if (flavor.sourceModelRevision() != null) {
      weights = cache.snapshot(flavor.sourceModelName(), flavor.sourceModelRevision());
      layout = Layout.REFERENCE_ONLY;
    } else if (Files.isDirectory(dir.resolve(LEGACY_PIPELINE_DIR))) {
      weights = dir.resolve(LEGACY_PIPELINE_DIR);
      layout = Layout.LEGACY_PIPELINE;
    } else {
      throw new FlavorException("Cannot open model " + dir + ": " + file + " has neither"
          + " model_binary nor source_model_revision in flavors.transformers, and there is no "
          + LEGACY_PIPELINE_DIR + "/ folder; the weights are nowhere. Log the model again with"
          + " save_pretrained=True");
    }
    Path tokenizer = tokenizerDir(dir, file, flavor, layout, weights, cache);
    Path peft = flavor.peftAdaptor() == null ? null
        : ModelPaths.inside(dir, flavor.peftAdaptor(), "peft_adaptor", file);
    HfConfig config = HfConfig.read(weights);
    return new LoggedModel(dir, mlmodel, layout, weights, tokenizer, peft, config);
  }

  private static Path tokenizerDir(Path dir, Path file, TransformersFlavor flavor, Layout layout,
      Path weights, HfCache cache) {
    Optional<TransformersFlavor.Component> tok = flavor.component("tokenizer");
    if (layout == Layout.REFERENCE_ONLY) {
      if (tok.isPresent() && tok.get().sourceName() != null) {
        return cache.snapshot(tok.get().sourceName(), tok.get().revision() != null
            ? tok.get().revision() : flavor.sourceModelRevision());
      }
      return hasTokenizerFiles(weights) ? weights : null;
    }
    Path components = ModelPaths.inside(dir, COMPONENTS_DIR + "/tokenizer", "components", file);
    if (Files.isDirectory(components) && hasTokenizerFiles(components)) {
      return components;
    }
    return hasTokenizerFiles(weights) ? weights : null;
  }

  private static boolean hasTokenizerFiles(Path d) {
    return Files.isRegularFile(d.resolve("tokenizer.json"))
        || Files.isRegularFile(d.resolve(TokenizerConfig.FILE_NAME));
  }

  /** Whether a source_model_name is a filesystem path rather than a hub repo id. */
  static boolean isLocalPath(String name) {
    if (name == null) {
      return false;
    }
    return name.startsWith("/") || name.startsWith("./") || name.startsWith("../")
        || name.startsWith("~") || name.startsWith("file:") || name.startsWith("dbfs:")
        || name.contains("\\") || name.matches("^[A-Za-z]:.*") || name.split("/").length > 2;
  }

  /** The artifact folder (holding MLmodel). */
  public Path root() {
    return root;
  }

  /** The parsed MLmodel. */
  public MLmodel mlmodel() {
    return mlmodel;
  }

  /** The transformers flavor block. */
  public TransformersFlavor flavor() {
    return mlmodel.transformers();
  }

  /** How the model was logged. */
  public Layout layout() {
    return layout;
  }

  /** The folder with config.json and the weights (artifact folder or cache snapshot). */
  public Path weightsDir() {
    return weightsDir;
  }

  /** The tokenizer folder, if the model has a tokenizer. */
  public Optional<Path> tokenizerDir() {
    return Optional.ofNullable(tokenizerDir);
  }

  /** The PEFT adapter folder, if the model has one. */
  public Optional<Path> peftDir() {
    return Optional.ofNullable(peftDir);
  }

  /**
   * The folder of a component listed in the flavor ({@code components/<name>}), if it exists in the
   * artifact; the name is checked to stay inside the model folder.
   */
  public Optional<Path> componentDir(String name) {
    if (flavor().component(name).isEmpty()) {
      return Optional.empty();
    }
    Path dir = ModelPaths.inside(root, COMPONENTS_DIR + "/" + name, "components",
        root.resolve(MLmodel.FILE_NAME));
    return Files.isDirectory(dir) ? Optional.of(dir) : Optional.empty();
  }

  /** config.json. */
  public HfConfig config() {
    return config;
  }

  /** generation_config.json, if present. */
  public Optional<GenerationConfig> generationConfig() {
    return GenerationConfig.read(weightsDir);
  }

  /** tokenizer_config.json (with chat templates), if present. */
  public Optional<TokenizerConfig> tokenizerConfig() {
    return tokenizerDir().flatMap(TokenizerConfig::read);
  }

  /** special_tokens_map.json, if present. */
  public Optional<SpecialTokensMap> specialTokensMap() {
    return tokenizerDir().flatMap(SpecialTokensMap::read);
  }

  /** The sentence-transformers pipeline (pooling, normalisation), if the model has one. */
  public Optional<SentenceTransformers> sentenceTransformers() {
    return SentenceTransformers.read(weightsDir);
  }

  /**
   * Inference defaults logged with the model: python_function {@code model_config}, else the old
   * JSON {@code components/inference_config.txt} of legacy models, else empty.
   */
  public Map<String, Object> modelConfig() {
    if (!mlmodel.modelConfig().isEmpty()) {
      return mlmodel.modelConfig();
    }
    Path legacy = root.resolve(LEGACY_INFERENCE_CONFIG);
    if (Files.isRegularFile(legacy)) {
      JsonNode node = JsonFiles.readObject(legacy, "fix the file or log the model again");
      return Nodes.toMap(node);
    }
    return Map.of();
  }

  /** Opens the weights (headers validated, tensors mapped on request); the caller closes them. */
  public WeightFiles openWeights() {
    return WeightFiles.open(weightsDir);
  }

  @Override
  public String toString() {
    return "LoggedModel[" + root + ", " + layout + ", weights " + weightsDir + "]";
  }
}
