package dev.llmbatch.flavor.uri;

import java.util.Optional;

/**
 * What URI resolution asks of MLflow: runs, logged models (MLflow 3) and the model registry. A
 * file store reads {@code mlruns/}; a tracking server answers over REST. Every method throws a
 * {@link dev.llmbatch.flavor.FlavorException} naming what it looked up and where when the answer
 * is "not there".
 */
public interface MlflowStore {

  /** Where this store is, for messages: {@code file store /x/mlruns}, {@code tracking server https://...}. */
  String describe();

  /** The run's {@code artifact_uri}. */
  String runArtifactUri(String runId);

  /**
   * MLflow 3: the artifact location of the logged model named {@code name} whose source run is
   * {@code runId}, when there is one ({@code runs:/<run_id>/<name>} then points at it).
   */
  Optional<String> loggedModelOfRun(String runId, String name);

  /** MLflow 3: the artifact location of logged model {@code modelId} ({@code m-<32 hex>}). */
  String loggedModelArtifactUri(String modelId);

  /** A version by number; deleted versions are "not found". */
  ModelVersion modelVersion(String name, String version);

  /**
   * The highest version in {@code stage} (case-insensitive), or over all stages when
   * {@code stage} is empty ({@code models:/<name>/latest}).
   */
  ModelVersion latestVersion(String name, Optional<String> stage);

  /** The version an alias points to. */
  ModelVersion aliasedVersion(String name, String alias);

  /**
   * Where a version's files are: the server's download URI over REST, else {@code storage_location}
   * or {@code source} (which may itself be a {@code runs:/} or {@code models:/} URI).
   */
  String downloadLocation(ModelVersion version);
}
