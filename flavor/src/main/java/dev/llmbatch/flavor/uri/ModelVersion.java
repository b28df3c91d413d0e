package dev.llmbatch.flavor.uri;

import java.util.Objects;

/**
 * One registered model version, as the registry describes it (file store {@code meta.yaml} or the
 * REST API's {@code model_version} object).
 *
 * @param name registered model name
 * @param version version number, as text (MLflow stores it as a string over REST)
 * @param source where the version was registered from: a location or a {@code runs:/} /
 *     {@code models:/} URI
 * @param storageLocation the resolved location when the registry recorded one (MLflow 3), else null
 * @param runId the run it came from, or null
 * @param currentStage {@code None}, {@code Staging}, {@code Production}, {@code Archived}
 *     ({@code Deleted_Internal} versions are never returned)
 * @param modelId the MLflow 3 logged model id, or null
 */
public record ModelVersion(String name, String version, String source, String storageLocation,
    String runId, String currentStage, String modelId) {

  /** The stage MLflow gives versions that were deleted from a file store; they are skipped. */
  public static final String DELETED_INTERNAL = "Deleted_Internal";

  public ModelVersion {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(version, "version");
    currentStage = currentStage == null || currentStage.isEmpty() ? "None" : currentStage;
  }

  /** The version as a number, for ordering (0 when the text is not a number). */
  public long number() {
    try {
      return Long.parseLong(version.trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** Where to download from: {@code storage_location} when set, else {@code source}. */
  public String location() {
    return storageLocation != null && !storageLocation.isBlank() ? storageLocation : source;
  }

  @Override
  public String toString() {
    return name + " version " + version + " (stage " + currentStage + ")";
  }
}
