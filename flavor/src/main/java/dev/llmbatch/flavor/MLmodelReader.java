package dev.llmbatch.flavor;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.llmbatch.flavor.internal.Nodes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads MLmodel files (MLflow 2.x and 3.x) into {@link MLmodel}. Lenient: unknown keys are kept,
 * never fatal; malformed YAML and values of the wrong shape fail with one line naming the file,
 * the line or key, and the fix.
 */
public final class MLmodelReader {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private MLmodelReader() {}

  /** Reads {@code file} (an MLmodel file, or a folder holding one). */
  public static MLmodel read(Path file) {
    if (Files.isDirectory(file)) {
      file = file.resolve(MLmodel.FILE_NAME);
    }
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new FlavorException("Cannot read MLmodel file " + file + ": it does not exist; the"
          + " model URI must point at the folder MLflow logged (the one holding MLmodel)");
    } catch (IOException e) {
      throw new FlavorException("Cannot read MLmodel file " + file + ": " + e, e);
    }
    return parse(text, file.toString());
  }

  /** Parses MLmodel YAML; {@code source} names the file in error messages. */
  public static MLmodel parse(String yaml, String source) {
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (JsonProcessingException e) {
      JsonLocation loc = e.getLocation();
      String at = loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
      String why = String.valueOf(e.getOriginalMessage()).replaceAll("\\s+", " ").trim();
      throw new FlavorException("Cannot read MLmodel file " + source + ": malformed YAML" + at
          + " (" + why + "); fix the file or log the model again", e);
    }
    if (root == null || root.isNull() || root.isMissingNode()) {
      throw new FlavorException("Cannot read MLmodel file " + source + ": it is empty; log the"
          + " model again");
    }
    if (!root.isObject()) {
      throw new FlavorException("Cannot read MLmodel file " + source + ": the top level is not a"
          + " mapping of keys to values; log the model again");
    }
    try {
      return fromTree(root, source);
    } catch (FlavorException e) {
      if (e.getMessage().contains(source)) {
        throw e;
      }
      throw new FlavorException(e.getMessage().replaceFirst("^(Cannot [^:]*): ",
          "$1 in MLmodel file " + java.util.regex.Matcher.quoteReplacement(source) + ": "), e);
    }
  }

  private static MLmodel fromTree(JsonNode root, String source) {
    Nodes top = Nodes.of(root, source);
    String artifactPath = top.text("artifact_path");
    String mlflowVersion = top.text("mlflow_version");
    String modelUuid = top.text("model_uuid");
    String modelId = top.text("model_id");
    String runId = top.text("run_id");
    String created = top.text("utc_time_created");
    Long size = top.integer("model_size_bytes");

    JsonNode flavorsNode = top.take("flavors");
    Nodes flavors = Nodes.of(flavorsNode, source + " (flavors)");
    JsonNode tfNode = flavors.take(TransformersFlavor.NAME);
    JsonNode pfNode = flavors.take(PyFuncFlavor.NAME);
    TransformersFlavor transformers =
        tfNode == null ? null : transformers(Nodes.of(tfNode, source + " (flavors.transformers)"));
    PyFuncFlavor pyFunc =
        pfNode == null ? null : pyFunc(Nodes.of(pfNode, source + " (flavors.python_function)"));

    JsonNode sigNode = top.take("signature");
    Signature signature = null;
    if (sigNode != null) {
      Nodes sig = Nodes.of(sigNode, source + " (signature)");
      signature = new Signature(sig.text("inputs"), sig.text("outputs"), sig.text("params"),
          sig.rest());
    }
    JsonNode exNode = top.take("saved_input_example_info");
    SavedInputExampleInfo example = null;
    if (exNode != null) {
      Nodes ex = Nodes.of(exNode, source + " (saved_input_example_info)");
      example = new SavedInputExampleInfo(ex.text("artifact_path"), ex.text("type"),
          ex.text("pandas_orient"), ex.text("serving_input_path"), ex.rest());
    }
    JsonNode mdNode = top.take("metadata");
    ModelMetadata metadata = ModelMetadata.EMPTY;
    if (mdNode != null) {
      Nodes md = Nodes.of(mdNode, source + " (metadata)");
      metadata = new ModelMetadata(md.text("task"), md.text("prompt_template"), md.rest());
    }
    return new MLmodel(artifactPath, mlflowVersion, modelUuid, modelId, runId, created, size,
        transformers, pyFunc, flavors.rest(), signature, example, metadata, top.rest());
  }

  private static TransformersFlavor transformers(Nodes n) {
    String transformersVersion = n.text("transformers_version");
    String code = n.text("code");
    String task = n.text("task");
    String inferenceTask = n.text("inference_task");
    String instanceType = n.text("instance_type");
    String framework = n.text("framework");
    String torchDtype = n.text("torch_dtype");
    String pipelineModelType = n.text("pipeline_model_type");
    String sourceModelName = n.text("source_model_name");
    String modelBinary = n.text("model_binary");
    String revision = n.text("source_model_revision");
    List<TransformersFlavor.Component> components = new ArrayList<>();
    for (String c : n.texts("components")) {
      components.add(new TransformersFlavor.Component(c, n.text(c + "_type"), n.text(c + "_name"),
          n.text(c + "_revision")));
    }
    String peft = n.text("peft_adaptor");
    Boolean localBase = n.bool("has_local_base_model_path");
    return new TransformersFlavor(transformersVersion, code, task, inferenceTask, instanceType,
        framework, torchDtype, pipelineModelType, sourceModelName, modelBinary, revision,
        components, peft, localBase, n.rest());
  }

  private static PyFuncFlavor pyFunc(Nodes n) {
    String loader = n.text("loader_module");
    String python = n.text("python_version");
    JsonNode env = n.take("env");
    Object envValue = env == null ? null
        : env.isObject() ? Nodes.toMap(env) : env.isValueNode() ? env.asText() : env.toString();
    Map<String, Object> modelConfig = new LinkedHashMap<>(n.map("model_config"));
    return new PyFuncFlavor(loader, python, envValue, modelConfig, n.rest());
  }
}
