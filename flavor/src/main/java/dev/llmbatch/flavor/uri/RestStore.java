package dev.llmbatch.flavor.uri;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.flavor.FlavorException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * An MLflow tracking server over its REST API ({@code /api/2.0/mlflow/...}); the calls follow
 * MLflow 2.x (aliases need 2.3+) and 3.x (logged models, {@code models:/<model_id>}, need 3.0+).
 */
final class RestStore implements MlflowStore {
  private final MlflowHttp http;

  RestStore(MlflowHttp http) {
    this.http = http;
  }

  /** The HTTP client, for proxied artifact downloads. */
  MlflowHttp http() {
    return http;
  }

  @Override
  public String describe() {
    return "tracking server " + http.base();
  }

  @Override
  public String runArtifactUri(String runId) {
    String uri = run(runId).path("info").path("artifact_uri").asText(null);
    if (uri == null || uri.isEmpty()) {
      throw FlavorException.of("Cannot resolve run %s: %s returned a run without artifact_uri",
          runId, describe());
    }
    return uri;
  }

  private JsonNode run(String runId) {
    Map<String, String> q = MlflowHttp.query("run_id", runId);
    JsonNode n = http.getJson("mlflow/runs/get", q);
    if (n == null || !n.has("run")) {
      throw FlavorException.of("Cannot resolve run %s: %s has no such run (GET %s answered 404);"
          + " is MLFLOW_TRACKING_URI the server the run was logged to?", runId, describe(),
          http.url("mlflow/runs/get", q));
    }
    return n.path("run");
  }

  @Override
  public Optional<String> loggedModelOfRun(String runId, String name) {
    // MLflow 3 lists the run's logged models in run.outputs.model_outputs; 2.x servers have none
    JsonNode outputs = run(runId).path("outputs").path("model_outputs");
    List<JsonNode> hits = new ArrayList<>();
    for (JsonNode o : outputs) {
      JsonNode model = loggedModel(o.path("model_id").asText(""));
      if (model != null && name.equals(model.path("info").path("name").asText())) {
        hits.add(model);
      }
    }
    return hits.stream()
        .max(Comparator.comparingLong(m -> m.path("info").path("creation_timestamp_ms").asLong()))
        .map(m -> m.path("info").path("artifact_uri").asText());
  }

  private JsonNode loggedModel(String modelId) {
    if (modelId.isEmpty()) {
      return null;
    }
    JsonNode n = http.getJson("mlflow/logged-models/" + MlflowHttp.enc(modelId), Map.of());
    return n == null ? null : n.path("model");
  }

  @Override
  public String loggedModelArtifactUri(String modelId) {
    JsonNode m = loggedModel(modelId);
    String uri = m == null ? null : m.path("info").path("artifact_uri").asText(null);
    if (uri == null) {
      throw FlavorException.of("Cannot resolve models:/%s: %s has no logged model %s (GET %s);"
          + " logged model ids need an MLflow 3 server", modelId, describe(), modelId,
          http.url("mlflow/logged-models/" + modelId, Map.of()));
    }
    return uri;
  }

  @Override
  public ModelVersion modelVersion(String name, String version) {
    Map<String, String> q = MlflowHttp.query("name", name, "version", version);
    JsonNode n = http.getJson("mlflow/model-versions/get", q);
    if (n == null || !n.has("model_version")) {
      throw FlavorException.of("Cannot resolve models:/%s/%s: %s has no version %s of registered"
          + " model '%s' (GET %s answered 404)", name, version, describe(), version, name,
          http.url("mlflow/model-versions/get", q));
    }
    return toVersion(n.path("model_version"));
  }

  @Override
  public ModelVersion latestVersion(String name, Optional<String> stage) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", name);
    stage.ifPresent(s -> body.put("stages", List.of(canonicalStage(s))));
    JsonNode n = http.postJson("mlflow/registered-models/get-latest-versions", body);
    if (n == null) {
      throw FlavorException.of("Cannot resolve models:/%s/%s: %s has no registered model '%s'"
          + " (POST %s answered 404)", name, stage.orElse("latest"), describe(), name,
          http.url("mlflow/registered-models/get-latest-versions", Map.of()));
    }
    List<ModelVersion> versions = new ArrayList<>();
    n.path("model_versions").forEach(v -> versions.add(toVersion(v)));
    return versions.stream()
        .filter(v -> stage.isEmpty() || v.currentStage().equalsIgnoreCase(stage.get()))
        .filter(v -> !ModelVersion.DELETED_INTERNAL.equals(v.currentStage()))
        .max(Comparator.comparingLong(ModelVersion::number))
        .orElseThrow(() -> FlavorException.of("Cannot resolve models:/%s/%s: %s in %s",
            name, stage.orElse("latest"), stage.isEmpty()
                ? "registered model '" + name + "' has no versions"
                : "no version of '" + name + "' is in stage " + canonicalStage(stage.get()),
            describe()));
  }

  /** MLflow's stage spelling ({@code production} → {@code Production}); others pass through. */
  static String canonicalStage(String stage) {
    for (String s : List.of("None", "Staging", "Production", "Archived")) {
      if (s.equalsIgnoreCase(stage)) {
        return s;
      }
    }
    return stage;
  }

  @Override
  public ModelVersion aliasedVersion(String name, String alias) {
    Map<String, String> q = MlflowHttp.query("name", name, "alias", alias);
    JsonNode n = http.getJson("mlflow/registered-models/alias", q);
    if (n == null || !n.has("model_version")) {
      throw FlavorException.of("Cannot resolve models:/%s@%s: %s has no alias '%s' on registered"
          + " model '%s' (GET %s answered 404)", name, alias, describe(), alias, name,
          http.url("mlflow/registered-models/alias", q));
    }
    return toVersion(n.path("model_version"));
  }

  @Override
  public String downloadLocation(ModelVersion v) {
    Map<String, String> q = MlflowHttp.query("name", v.name(), "version", v.version());
    JsonNode n = http.getJson("mlflow/model-versions/get-download-uri", q);
    String uri = n == null ? null : n.path("artifact_uri").asText(null);
    return uri != null && !uri.isEmpty() ? uri : v.location();
  }

  private static ModelVersion toVersion(JsonNode v) {
    return new ModelVersion(v.path("name").asText(), v.path("version").asText(),
        text(v, "source"), text(v, "storage_location"), text(v, "run_id"),
        text(v, "current_stage"), text(v, "model_id"));
  }

  private static String text(JsonNode n, String key) {
    JsonNode v = n.get(key);
    return v == null || v.isNull() ? null : v.asText();
  }

  @Override
  public String toString() {
    return describe().toLowerCase(Locale.ROOT);
  }
}
