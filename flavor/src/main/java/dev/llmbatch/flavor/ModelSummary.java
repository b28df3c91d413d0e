package dev.llmbatch.flavor;

import dev.llmbatch.flavor.hf.TokenizerConfig;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import java.nio.file.Files;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code llm-batch inspect} reports about a model, computed from its files without reading
 * weights (parameter count and dtype come from the safetensors headers).
 *
 * @param layout how it was logged
 * @param task the flavor's HF pipeline task
 * @param inferenceTask the llm/v1 task ({@code inference_task}, else {@code metadata.task}), or null
 * @param architecture {@code pipeline_model_type}, else config.json {@code architectures[0]}
 * @param modelType config.json {@code model_type}
 * @param parameters number of parameters, from the headers
 * @param storedDtype the floating dtype holding most parameters, as stored (e.g. {@code BF16})
 * @param torchDtype the flavor's {@code torch_dtype}, else config.json's, or null
 * @param weightsPath the folder holding the weights
 * @param tokenizer the tokenizer class (flavor {@code tokenizer_type}, else tokenizer_config
 *     {@code tokenizer_class}), {@code tokenizer.json} when only that file says so, or null
 * @param tokenizerPath the tokenizer folder, or null
 * @param chatTemplate whether the tokenizer has a chat template
 * @param modelConfig python_function {@code model_config}
 * @param promptTemplate {@code metadata.prompt_template}, or null
 */
public record ModelSummary(
    Layout layout,
    String task,
    String inferenceTask,
    String architecture,
    String modelType,
    long parameters,
    String storedDtype,
    String torchDtype,
    String weightsPath,
    String tokenizer,
    String tokenizerPath,
    boolean chatTemplate,
    Map<String, Object> modelConfig,
    String promptTemplate) {

  public ModelSummary {
    modelConfig = Collections.unmodifiableMap(new LinkedHashMap<>(modelConfig));
  }

  /** Summarises {@code model}, opening its safetensors headers (not its weights). */
  public static ModelSummary of(LoggedModel model) {
    TransformersFlavor f = model.flavor();
    long params;
    String stored;
    try (WeightFiles w = model.openWeights()) {
      params = w.parameterCount();
      stored = w.storedDtype().name();
    }
    Optional<TokenizerConfig> tc = model.tokenizerConfig();
    String tokenizer = f.component("tokenizer").map(TransformersFlavor.Component::type).orElse(null);
    if (tokenizer == null) {
      tokenizer = tc.map(TokenizerConfig::tokenizerClass).orElse(null);
    }
    if (tokenizer == null && model.tokenizerDir().isPresent()
        && Files.exists(model.tokenizerDir().get().resolve("tokenizer.json"))) {
      tokenizer = "tokenizer.json";
    }
    String architecture = f.pipelineModelType() != null ? f.pipelineModelType()
        : model.config().architecture().orElse(null);
    String torchDtype = f.torchDtype() != null ? f.torchDtype() : model.config().torchDtype();
    return new ModelSummary(model.layout(), f.task(), model.mlmodel().llmTask(), architecture,
        model.config().modelType(), params, stored, torchDtype, model.weightsDir().toString(),
        tokenizer, model.tokenizerDir().map(Object::toString).orElse(null),
        tc.map(TokenizerConfig::hasChatTemplate).orElse(false), model.modelConfig(),
        model.mlmodel().metadata().promptTemplate());
  }

  /**
   * The {@code inspect --json} object, keys in this order: layout, task, inference_task,
   * architecture, model_type, parameters, dtype ({@code {stored, torch_dtype}}), weights_path,
   * tokenizer, chat_template, model_config, prompt_template.
   */
  public Map<String, Object> toJsonMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("layout", layout.name());
    m.put("task", task);
    m.put("inference_task", inferenceTask);
    m.put("architecture", architecture);
    m.put("model_type", modelType);
    m.put("parameters", parameters);
    Map<String, Object> dtype = new LinkedHashMap<>();
    dtype.put("stored", storedDtype);
    dtype.put("torch_dtype", torchDtype);
    m.put("dtype", dtype);
    m.put("weights_path", weightsPath);
    m.put("tokenizer", tokenizer);
    m.put("chat_template", chatTemplate);
    m.put("model_config", modelConfig);
    m.put("prompt_template", promptTemplate);
    return m;
  }
}
