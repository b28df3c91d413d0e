package dev.llmbatch.flavor.uri;

import dev.llmbatch.flavor.FlavorException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves a model URI, once, on the driver, to the concrete artifact location executors read.
 *
 * <p>Accepted: a local path, {@code file:}, {@code dbfs:/x} (read as {@code /dbfs/x}), any Hadoop
 * filesystem URI ({@code s3a://}, {@code hdfs://}, {@code abfss://}, {@code gs://}; MLflow's
 * {@code s3://} is read as {@code s3a://}), {@code mlflow-artifacts:}, {@code runs:/<run_id>/<path>},
 * {@code models:/<name>/<version>}, {@code models:/<name>/<stage>}, {@code models:/<name>/latest},
 * {@code models:/<name>@<alias>} and {@code models:/<model_id>}. A registry version whose source
 * is itself a {@code runs:/} or {@code models:/} URI is resolved recursively.
 */
public final class ModelUriResolver {
  private static final Logger LOG = LoggerFactory.getLogger(ModelUriResolver.class);
  private static final int MAX_DEPTH = 8;

  private final MlflowEnvironment env;

  /** A resolver over the stores {@code env} names. */
  public ModelUriResolver(MlflowEnvironment env) {
    this.env = env;
  }

  /** A resolver over the process environment. */
  public static ModelUriResolver fromSystem() {
    return new ModelUriResolver(MlflowEnvironment.fromSystem());
  }

  /** Resolves {@code uri}; throws {@link FlavorException} naming the URI, the lookup and where. */
  public ResolvedModel resolve(String uri) {
    if (uri == null || uri.isBlank()) {
      throw new FlavorException("Invalid model URI: it is empty; give a path, runs:/<run_id>/<path>"
          + " or models:/<name>/<version>");
    }
    List<String> trail = new ArrayList<>();
    trail.add(uri.trim());
    ResolvedModel r;
    try {
      r = step(uri.trim(), uri.trim(), trail, 0);
    } catch (FlavorException e) {
      if (!e.getMessage().contains(uri.trim())) {
        String via = trail.size() > 1 ? " (via " + String.join(" -> ", trail) + ")" : "";
        throw new FlavorException("Cannot resolve model URI " + uri.trim() + via + ": "
            + e.getMessage(), e);
      }
      throw e;
    }
    LOG.info("Resolved model {}", r.describe());
    return r;
  }

  private ResolvedModel step(String original, String uri, List<String> trail, int depth) {
    if (depth > MAX_DEPTH) {
      throw FlavorException.of("Cannot resolve model URI %s: more than %d nested registry"
          + " sources (%s); a version's source probably points back at itself", original,
          MAX_DEPTH, String.join(" -> ", trail));
    }
    String scheme = MlflowEnvironment.scheme(uri);
    if (scheme == null || scheme.equals("file")) {
      return local(original, MlflowEnvironment.localPath(uri, Path.of("").toAbsolutePath()),
          trail);
    }
    switch (scheme) {
      case "dbfs" -> {
        String rest = uri.substring("dbfs:".length()).replaceFirst("^/+", "");
        return local(original, Path.of("/dbfs").resolve(rest), trail);
      }
      case "runs" -> {
        return next(original, runs(uri, trail), trail, depth);
      }
      case "models" -> {
        return next(original, models(uri, trail), trail, depth);
      }
      case MlflowArtifacts.SCHEME -> {
        if (!env.trackingIsServer()) {
          throw FlavorException.of("Cannot resolve model URI %s: %s is served by a tracking"
              + " server, but MLFLOW_TRACKING_URI is %s", original, uri, env.trackingUri());
        }
        return new ResolvedModel(original, uri, ResolvedModel.Kind.MLFLOW_ARTIFACTS, trail);
      }
      case "s3" -> {
        // MLflow records s3:// artifact roots; Hadoop (and Spark) read S3 through s3a
        String s3a = "s3a" + uri.substring("s3".length());
        trail.add(s3a + " (s3:// read through Hadoop's s3a)");
        return new ResolvedModel(original, s3a, ResolvedModel.Kind.HADOOP, trail);
      }
      case "http", "https" -> throw FlavorException.of("Cannot resolve model URI %s: plain"
          + " HTTP locations are not model URIs; set MLFLOW_TRACKING_URI=%s and use runs:/ or"
          + " models:/ URIs, or give mlflow-artifacts:/ paths", original, uri);
      default -> {
        if (!uri.startsWith(scheme + "://")) {
          throw FlavorException.of("Cannot resolve model URI %s: unknown scheme '%s'. Use a path,"
              + " file:, dbfs:/, a Hadoop URI (s3a://, hdfs://, abfss://, gs://), runs:/<run_id>/"
              + "<path>, models:/<name>/<version|stage|latest>, models:/<name>@<alias> or"
              + " models:/<model_id>", original, scheme);
        }
        return new ResolvedModel(original, uri, ResolvedModel.Kind.HADOOP, trail);
      }
    }
  }

  private ResolvedModel next(String original, String location, List<String> trail, int depth) {
    trail.add(location);
    return step(original, location, trail, depth + 1);
  }

  private ResolvedModel local(String original, Path path, List<String> trail) {
    Path abs = path.toAbsolutePath().normalize();
    if (!Files.exists(abs)) {
      throw FlavorException.of("Cannot resolve model URI %s: %s does not exist%s%s", original,
          abs, trail.size() > 1 ? " (resolved via " + String.join(" -> ", trail) + ")" : "",
          abs.startsWith("/dbfs") ? "; dbfs:/ paths are read through the /dbfs mount that"
              + " Databricks clusters provide" : "");
    }
    if (!trail.get(trail.size() - 1).equals(abs.toString())) {
      trail.add(abs.toString());
    }
    return new ResolvedModel(original, abs.toString(), ResolvedModel.Kind.LOCAL, trail);
  }

  /** {@code runs:/<run_id>/<path>} to an artifact location (MLflow 3 logged models first). */
  private String runs(String uri, List<String> trail) {
    String rest = uri.substring("runs:".length());
    if (rest.startsWith("//")) {
      throw FlavorException.of("Invalid runs URI: %s (profile-qualified runs:// URIs are not"
          + " supported; use runs:/<run_id>/<path>)", uri);
    }
    rest = rest.replaceFirst("^/+", "");
    int slash = rest.indexOf('/');
    String runId = slash < 0 ? rest : rest.substring(0, slash);
    String path = slash < 0 ? "" : rest.substring(slash + 1).replaceAll("/+$", "");
    if (runId.isEmpty()) {
      throw FlavorException.of("Invalid runs URI: %s (expected runs:/<run_id>/<path>)", uri);
    }
    MlflowStore store = env.trackingStore();
    if (!path.isEmpty()) {
      String first = path.contains("/") ? path.substring(0, path.indexOf('/')) : path;
      Optional<String> logged = store.loggedModelOfRun(runId, first);
      if (logged.isPresent()) {
        trail.add("logged model '" + first + "' of run " + runId + " in " + store.describe());
        return join(logged.get(), path.substring(first.length()));
      }
    }
    String root = store.runArtifactUri(runId);
    trail.add("artifacts of run " + runId + " in " + store.describe());
    return join(root, path);
  }

  /** {@code models:/...} to the version's (or logged model's) location. */
  private String models(String uri, List<String> trail) {
    RegistryUri parsed = RegistryUri.parse(uri);
    if (parsed.modelId() != null) {
      MlflowStore store = env.trackingStore();
      String loc = store.loggedModelArtifactUri(parsed.modelId());
      trail.add("logged model " + parsed.modelId() + " in " + store.describe());
      return join(loc, parsed.subPath());
    }
    MlflowStore store = env.registryStore();
    ModelVersion v = switch (parsed.selector()) {
      case VERSION -> store.modelVersion(parsed.name(), parsed.value());
      case STAGE -> store.latestVersion(parsed.name(), Optional.of(parsed.value()));
      case LATEST -> store.latestVersion(parsed.name(), Optional.empty());
      case ALIAS -> store.aliasedVersion(parsed.name(), parsed.value());
    };
    trail.add(v + " in " + store.describe());
    return join(store.downloadLocation(v), parsed.subPath());
  }

  static String join(String base, String path) {
    String p = path == null ? "" : path.replaceFirst("^/+", "");
    if (p.isEmpty()) {
      return base;
    }
    return (base.endsWith("/") ? base : base + "/") + p;
  }
}
