package dev.llmbatch.flavor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An MLmodel file (MLflow 2.x and 3.x), as typed records. Read it with {@link MLmodelReader} and
 * write it with {@link MLmodelWriter}; unknown keys at every level are kept in {@code extra} maps
 * and written back, because MLflow adds keys every release.
 *
 * @param artifactPath {@code artifact_path}
 * @param mlflowVersion {@code mlflow_version}
 * @param modelUuid {@code model_uuid}
 * @param modelId {@code model_id} (3.x, {@code m-<32hex>}), or null
 * @param runId {@code run_id}, or null
 * @param utcTimeCreated {@code utc_time_created} as written
 * @param modelSizeBytes {@code model_size_bytes}, or null
 * @param transformers the {@code flavors.transformers} block, or null when absent
 * @param pyFunc the {@code flavors.python_function} block, or null when absent
 * @param otherFlavors every other flavor, kept as written
 * @param signature the {@code signature} block, or null
 * @param savedInputExampleInfo the {@code saved_input_example_info} block, or null
 * @param metadata the {@code metadata} block ({@link ModelMetadata#EMPTY} when absent)
 * @param extra every other top-level key, kept as written
 */
public record MLmodel(
    String artifactPath,
    String mlflowVersion,
    String modelUuid,
    String modelId,
    String runId,
    String utcTimeCreated,
    Long modelSizeBytes,
    TransformersFlavor transformers,
    PyFuncFlavor pyFunc,
    Map<String, Object> otherFlavors,
    Signature signature,
    SavedInputExampleInfo savedInputExampleInfo,
    ModelMetadata metadata,
    Map<String, Object> extra) {

  /** The file name MLflow gives it. */
  public static final String FILE_NAME = "MLmodel";

  public MLmodel {
    otherFlavors = otherFlavors == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(otherFlavors));
    extra = extra == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    metadata = metadata == null ? ModelMetadata.EMPTY : metadata;
  }

  /** The transformers flavor; throws naming the fix when this MLmodel has none. */
  public TransformersFlavor requireTransformers(String where) {
    if (transformers == null) {
      throw new FlavorException("Cannot use " + where + ": it has no flavors.transformers block"
          + (otherFlavors.isEmpty() ? "" : " (flavors: " + otherFlavors.keySet() + ")")
          + "; log the model with mlflow.transformers.log_model");
    }
    return transformers;
  }

  /** {@code model_config} from python_function, empty when absent. */
  public Map<String, Object> modelConfig() {
    return pyFunc == null ? Map.of() : pyFunc.modelConfig();
  }

  /**
   * The llm/v1 task the model serves: {@code inference_task} from the flavor, else
   * {@code metadata.task}, else null.
   */
  public String llmTask() {
    if (transformers != null && transformers.inferenceTask() != null) {
      return transformers.inferenceTask();
    }
    return metadata.task() != null && metadata.task().startsWith("llm/v1/") ? metadata.task() : null;
  }

  /** A copy with another transformers flavor block. */
  public MLmodel withTransformers(TransformersFlavor flavor) {
    return new MLmodel(artifactPath, mlflowVersion, modelUuid, modelId, runId, utcTimeCreated,
        modelSizeBytes, flavor, pyFunc, otherFlavors, signature, savedInputExampleInfo, metadata,
        extra);
  }
}
