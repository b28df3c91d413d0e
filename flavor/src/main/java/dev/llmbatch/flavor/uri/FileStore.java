package dev.llmbatch.flavor.uri;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.llmbatch.flavor.FlavorException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * An MLflow file store ({@code mlruns/}), MLflow 2 and 3 layouts:
 * <pre>
 * &lt;exp_id&gt;/&lt;run_id&gt;/meta.yaml                  artifact_uri, run_id, lifecycle_stage
 * &lt;exp_id&gt;/models/&lt;model_id&gt;/meta.yaml         MLflow 3 logged models: artifact_location, name, source_run_id
 * models/&lt;name&gt;/version-&lt;N&gt;/meta.yaml           registry: version, source, storage_location, current_stage
 * models/&lt;name&gt;/aliases/&lt;alias&gt;                  text: the version number
 * </pre>
 * Versions whose {@code current_stage} is {@code Deleted_Internal} are skipped. When a recorded
 * {@code file:} artifact location no longer exists but the store holds the artifacts in its own
 * folder (an {@code mlruns/} that was copied or moved), the folder inside the store is used.
 */
public final class FileStore implements MlflowStore {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final String TRASH = ".trash";
  private static final String REGISTRY = "models";

  private final Path root;

  /** A file store rooted at {@code root} (the {@code mlruns} folder). */
  public FileStore(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  /** The {@code mlruns} folder. */
  public Path root() {
    return root;
  }

  @Override
  public String describe() {
    return "file store " + root;
  }

  @Override
  public String runArtifactUri(String runId) {
    Path runDir = findRunDir(runId);
    Map<String, Object> meta = readMeta(runDir.resolve("meta.yaml"));
    String uri = string(meta, "artifact_uri");
    if (uri == null) {
      throw FlavorException.of("Cannot resolve run %s: %s has no artifact_uri", runId,
          runDir.resolve("meta.yaml"));
    }
    return relocated(uri, runDir.resolve("artifacts"));
  }

  @Override
  public Optional<String> loggedModelOfRun(String runId, String name) {
    List<Path> hits = new ArrayList<>();
    for (Path exp : experiments()) {
      Path models = exp.resolve("models");
      for (Path m : children(models)) {
        Map<String, Object> meta = readMetaIfPresent(m.resolve("meta.yaml"));
        if (meta != null && runId.equals(string(meta, "source_run_id"))
            && name.equals(string(meta, "name"))) {
          hits.add(m);
        }
      }
    }
    // the newest wins, as MLflow 3 picks the latest logged model of that name in the run
    return hits.stream().max(Comparator.comparingLong(
            m -> number(readMeta(m.resolve("meta.yaml")), "creation_timestamp")))
        .map(this::loggedModelLocation);
  }

  @Override
  public String loggedModelArtifactUri(String modelId) {
    for (Path exp : experiments()) {
      Path dir = exp.resolve("models").resolve(modelId);
      if (Files.isRegularFile(dir.resolve("meta.yaml"))) {
        return loggedModelLocation(dir);
      }
    }
    throw FlavorException.of("Cannot resolve models:/%s: no logged model %s in %s (looked for"
        + " <experiment>/models/%s/meta.yaml); logged model ids exist only in MLflow 3 stores,"
        + " check MLFLOW_TRACKING_URI", modelId, modelId, describe(), modelId);
  }

  private String loggedModelLocation(Path modelDir) {
    Map<String, Object> meta = readMeta(modelDir.resolve("meta.yaml"));
    String uri = string(meta, "artifact_location");
    if (uri == null) {
      uri = string(meta, "artifact_uri");
    }
    if (uri == null) {
      return modelDir.resolve("artifacts").toUri().toString();
    }
    return relocated(uri, modelDir.resolve("artifacts"));
  }

  @Override
  public ModelVersion modelVersion(String name, String version) {
    Path dir = modelDir(name).resolve("version-" + version.trim());
    Map<String, Object> meta = readMetaIfPresent(dir.resolve("meta.yaml"));
    if (meta == null) {
      throw FlavorException.of("Cannot resolve models:/%s/%s: registered model '%s' has no"
          + " version %s in %s (versions there: %s)", name, version, name, version, describe(),
          listVersions(name));
    }
    ModelVersion v = toVersion(meta, name);
    if (ModelVersion.DELETED_INTERNAL.equals(v.currentStage())) {
      throw FlavorException.of("Cannot resolve models:/%s/%s: version %s of '%s' was deleted"
          + " (current_stage Deleted_Internal in %s)", name, version, version, name,
          dir.resolve("meta.yaml"));
    }
    return v;
  }

  @Override
  public ModelVersion latestVersion(String name, Optional<String> stage) {
    List<ModelVersion> all = liveVersions(name);
    Optional<ModelVersion> best = all.stream()
        .filter(v -> stage.isEmpty() || v.currentStage().equalsIgnoreCase(stage.get()))
        .max(Comparator.comparingLong(ModelVersion::number));
    return best.orElseThrow(() -> FlavorException.of("Cannot resolve models:/%s/%s: %s in %s"
        + " (live versions: %s)", name, stage.orElse("latest"), stage.isEmpty()
            ? "registered model '" + name + "' has no live version"
            : "no version of '" + name + "' is in stage " + stage.get(),
        describe(), all.isEmpty() ? "none" : all.stream()
            .map(v -> v.version() + "=" + v.currentStage()).toList()));
  }

  @Override
  public ModelVersion aliasedVersion(String name, String alias) {
    Path file = modelDir(name).resolve("aliases").resolve(alias);
    if (!Files.isRegularFile(file)) {
      throw FlavorException.of("Cannot resolve models:/%s@%s: registered model '%s' has no alias"
          + " '%s' (looked for %s; aliases there: %s)", name, alias, name, alias, file,
          aliasNames(file.getParent()));
    }
    String version;
    try {
      version = Files.readString(file, StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      throw new FlavorException("Cannot read alias file " + file + ": " + e, e);
    }
    return modelVersion(name, version);
  }

  @Override
  public String downloadLocation(ModelVersion version) {
    String loc = version.location();
    if (loc == null || loc.isBlank()) {
      throw FlavorException.of("Cannot resolve %s: its meta.yaml in %s has neither"
          + " storage_location nor source", version, describe());
    }
    return loc;
  }

  private List<ModelVersion> liveVersions(String name) {
    List<ModelVersion> out = new ArrayList<>();
    for (Path dir : children(modelDir(name))) {
      if (dir.getFileName().toString().startsWith("version-")) {
        Map<String, Object> meta = readMetaIfPresent(dir.resolve("meta.yaml"));
        if (meta != null) {
          ModelVersion v = toVersion(meta, name);
          if (!ModelVersion.DELETED_INTERNAL.equals(v.currentStage())) {
            out.add(v);
          }
        }
      }
    }
    out.sort(Comparator.comparingLong(ModelVersion::number));
    return out;
  }

  private List<String> listVersions(String name) {
    return liveVersions(name).stream().map(ModelVersion::version).toList();
  }

  private Path modelDir(String name) {
    Path registry = root.resolve(REGISTRY);
    Path dir = registry.resolve(name).normalize();
    if (!dir.startsWith(registry) || name.isBlank()) {
      throw FlavorException.of("Invalid registered model name: '%s'", name);
    }
    if (!Files.isDirectory(dir)) {
      List<String> names = children(registry).stream()
          .map(p -> p.getFileName().toString()).toList();
      Optional<String> otherCase = names.stream().filter(n -> n.equalsIgnoreCase(name)).findFirst();
      throw FlavorException.of("Cannot resolve models:/%s: no registered model '%s' in %s"
          + " (looked for %s)%s", name, name, describe(), dir, otherCase
              .map(n -> "; did you mean '" + n + "'? names are case-sensitive")
              .orElse("; registered models: " + names));
    }
    return dir;
  }

  private static ModelVersion toVersion(Map<String, Object> meta, String name) {
    return new ModelVersion(Optional.ofNullable(string(meta, "name")).orElse(name),
        Optional.ofNullable(string(meta, "version")).orElse("0"), string(meta, "source"),
        string(meta, "storage_location"), string(meta, "run_id"),
        string(meta, "current_stage"), string(meta, "model_id"));
  }

  private Path findRunDir(String runId) {
    if (!runId.matches("[A-Za-z0-9_-]+")) {
      throw FlavorException.of("Invalid run id: '%s'", runId);
    }
    for (Path exp : experiments()) {
      Path dir = exp.resolve(runId);
      if (Files.isRegularFile(dir.resolve("meta.yaml"))) {
        return dir;
      }
    }
    Path trashed = root.resolve(TRASH);
    for (Path exp : children(trashed)) {
      if (Files.isDirectory(exp.resolve(runId))) {
        throw FlavorException.of("Cannot resolve run %s: it belongs to deleted experiment %s (in"
            + " %s); restore the experiment first", runId, exp.getFileName(), trashed);
      }
    }
    if (!Files.isDirectory(root)) {
      throw FlavorException.of("Cannot resolve run %s: the file store %s does not exist; set"
          + " MLFLOW_TRACKING_URI to your mlruns folder or tracking server", runId, root);
    }
    throw FlavorException.of("Cannot resolve run %s: no <experiment>/%s/meta.yaml in %s"
        + " (experiments searched: %s); is MLFLOW_TRACKING_URI the store the run was logged to?",
        runId, runId, describe(), experiments().stream().map(p -> p.getFileName().toString())
            .toList());
  }

  private List<Path> experiments() {
    return children(root).stream()
        .filter(p -> !p.getFileName().toString().equals(TRASH))
        .filter(p -> !p.getFileName().toString().equals(REGISTRY))
        .filter(p -> Files.isRegularFile(p.resolve("meta.yaml"))).toList();
  }

  /**
   * A recorded {@code file:} location that is gone but whose copy sits in the store itself (the
   * store was moved) maps to that copy; anything else is returned as recorded.
   */
  private static String relocated(String recorded, Path inStore) {
    String scheme = MlflowEnvironment.scheme(recorded);
    if (scheme == null || scheme.equals("file")) {
      Path p = MlflowEnvironment.localPath(recorded, Path.of("/"));
      if (!Files.exists(p) && Files.isDirectory(inStore)) {
        return inStore.toUri().toString();
      }
    }
    return recorded;
  }

  private static List<String> aliasNames(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      throw new FlavorException("Cannot list " + dir + ": " + e, e);
    }
  }

  private static List<Path> children(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(Files::isDirectory).sorted().toList();
    } catch (IOException e) {
      throw new FlavorException("Cannot list " + dir + ": " + e, e);
    }
  }

  private static Map<String, Object> readMetaIfPresent(Path file) {
    return Files.isRegularFile(file) ? readMeta(file) : null;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> readMeta(Path file) {
    try {
      Object o = YAML.readValue(file.toFile(), Object.class);
      if (!(o instanceof Map)) {
        throw FlavorException.of("Cannot read %s: not a YAML mapping", file);
      }
      return (Map<String, Object>) o;
    } catch (IOException e) {
      throw new FlavorException("Cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private static String string(Map<String, Object> meta, String key) {
    Object v = meta.get(key);
    return v == null ? null : v.toString();
  }

  private static long number(Map<String, Object> meta, String key) {
    Object v = meta.get(key);
    try {
      return v == null ? 0 : Long.parseLong(v.toString().trim().toLowerCase(Locale.ROOT));
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
