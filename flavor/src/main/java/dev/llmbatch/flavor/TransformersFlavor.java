package dev.llmbatch.flavor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code flavors.transformers} block of an MLmodel file, with the keys MLflow writes (see
 * spec/mlflow-transformers-flavor.md). Values are kept as written; absent keys are null.
 *
 * @param transformersVersion {@code transformers_version}
 * @param code {@code code} (null unless code paths were given)
 * @param task HF pipeline task, e.g. {@code text-generation}; never an llm/v1 value
 * @param inferenceTask {@code inference_task}, e.g. {@code llm/v1/chat}, or null
 * @param instanceType pipeline class, e.g. {@code TextGenerationPipeline}
 * @param framework {@code pt} (transformers &lt; 5) or null
 * @param torchDtype e.g. {@code torch.bfloat16}, or null
 * @param pipelineModelType model class, e.g. {@code LlamaForCausalLM}
 * @param sourceModelName hub repo id or a local path
 * @param modelBinary folder holding the weights ({@code model}), null when reference-only
 * @param sourceModelRevision 40-hex commit pinned by a reference-only log, or null
 * @param components component names in order, e.g. {@code [tokenizer]}, each with its keys
 * @param peftAdaptor folder of a PEFT adapter ({@code peft}), or null
 * @param hasLocalBaseModelPath {@code has_local_base_model_path}, or null
 * @param extra every other key, kept as written
 */
public record TransformersFlavor(
    String transformersVersion,
    String code,
    String task,
    String inferenceTask,
    String instanceType,
    String framework,
    String torchDtype,
    String pipelineModelType,
    String sourceModelName,
    String modelBinary,
    String sourceModelRevision,
    List<Component> components,
    String peftAdaptor,
    Boolean hasLocalBaseModelPath,
    Map<String, Object> extra) {

  /** The flavor's key under {@code flavors}. */
  public static final String NAME = "transformers";

  /**
   * One component ({@code tokenizer}, {@code processor}, ...) and its {@code <c>_type},
   * {@code <c>_name} and {@code <c>_revision} keys (name and revision only when reference-only).
   */
  public record Component(String name, String type, String sourceName, String revision) {
    public Component {
      if (name == null || name.isBlank()) {
        throw new FlavorException("Cannot create a transformers component: its name is empty");
      }
    }
  }

  public TransformersFlavor {
    components = components == null ? List.of() : List.copyOf(components);
    extra = extra == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(extra));
  }

  /** The component with this name, if listed. */
  public Optional<Component> component(String name) {
    return components.stream().filter(c -> c.name().equals(name)).findFirst();
  }

  /** The names of the components, in order. */
  public List<String> componentNames() {
    List<String> names = new ArrayList<>();
    components.forEach(c -> names.add(c.name()));
    return names;
  }

  /** Whether the flavor names an llm/v1 inference task (chat, completions, embeddings). */
  public boolean isLlmV1() {
    return inferenceTask != null && inferenceTask.startsWith("llm/v1/");
  }

  /**
   * The torch dtype as a short name ({@code bfloat16}, {@code float16}, {@code float32}), or null;
   * accepts both {@code torch.bfloat16} and {@code bfloat16}.
   */
  public String torchDtypeName() {
    if (torchDtype == null) {
      return null;
    }
    String s = torchDtype.trim().toLowerCase(Locale.ROOT);
    return s.startsWith("torch.") ? s.substring("torch.".length()) : s;
  }

  /** A copy with different weights folder and reference keys (what persist rewrites). */
  public TransformersFlavor withPersistedWeights(String modelBinaryFolder) {
    List<Component> kept = new ArrayList<>();
    components.forEach(c -> kept.add(new Component(c.name(), c.type(), null, null)));
    return new TransformersFlavor(transformersVersion, code, task, inferenceTask, instanceType,
        framework, torchDtype, pipelineModelType, sourceModelName, modelBinaryFolder, null, kept,
        peftAdaptor, hasLocalBaseModelPath, extra);
  }
}
