package dev.llmbatch.jobs.cli;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.LoggedModel;
import dev.llmbatch.flavor.hf.HfCache;
import dev.llmbatch.flavor.uri.MlflowArtifacts;
import dev.llmbatch.flavor.uri.MlflowEnvironment;
import dev.llmbatch.flavor.uri.ModelUriResolver;
import dev.llmbatch.flavor.uri.ResolvedModel;
import dev.llmbatch.udf.executor.LocalModelCache;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The one place where a model URI given on the command line becomes a local {@link LoggedModel}:
 * local paths and {@code file:} URIs are opened in place; {@code runs:/}, {@code models:/},
 * {@code dbfs:/} and the rest are resolved by {@link ModelUriResolver}, and remote locations
 * (Hadoop filesystems, {@code mlflow-artifacts:}) are copied once into a local cache folder
 * ({@code LLM_BATCH_CACHE}, default {@code ~/.cache/llm-batch/models}).
 */
public final class ModelLocator {
  private static final Logger LOG = LoggerFactory.getLogger(ModelLocator.class);
  private static final Pattern SCHEME = Pattern.compile("^([A-Za-z][A-Za-z0-9+.-]+):.*");
  /** Environment variable naming the local folder remote models are copied into. */
  public static final String CACHE_ENV = "LLM_BATCH_CACHE";

  private ModelLocator() {}

  /** Opens the model at {@code uri}, with the Hugging Face cache the environment names. */
  public static LoggedModel open(String uri, Map<String, String> env) {
    return LoggedModel.open(localFolder(uri, env), HfCache.fromEnvironment(env));
  }

  /** A local folder holding the model {@code uri} names, resolving and copying as needed. */
  public static Path localFolder(String uri, Map<String, String> env) {
    var m = uri == null ? null : SCHEME.matcher(uri);
    if (m == null || !m.matches() || m.group(1).equalsIgnoreCase("file")) {
      return localPath(uri);
    }
    ResolvedModel r = new ModelUriResolver(
        MlflowEnvironment.of(env, Path.of("").toAbsolutePath())).resolve(uri);
    LOG.info("Model {}", r.describe());
    Path cache = cacheRoot(env);
    return switch (r.kind()) {
      case LOCAL -> r.localPath();
      case HADOOP -> new LocalModelCache(cache, new org.apache.hadoop.conf.Configuration())
          .materialize(r.location(), false);
      case MLFLOW_ARTIFACTS -> download(r, env, cache);
    };
  }

  private static Path download(ResolvedModel r, Map<String, String> env, Path cache) {
    Path dest = cache.resolve("mlflow-" + sha256(r.location()).substring(0, 16));
    if (Files.isRegularFile(dest.resolve("MLmodel"))) {
      return dest;
    }
    Path tmp = cache.resolve(dest.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    try {
      Files.createDirectories(cache);
      new MlflowArtifacts(MlflowEnvironment.of(env, Path.of("").toAbsolutePath()))
          .download(r.location(), tmp);
      Files.move(tmp, dest, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      return dest;
    } catch (java.io.IOException e) {
      throw new FlavorException("Cannot download model " + r.uri() + " from " + r.location()
          + " into " + dest + ": " + e);
    }
  }

  private static Path cacheRoot(Map<String, String> env) {
    String dir = env.get(CACHE_ENV);
    return dir != null && !dir.isBlank() ? Path.of(dir)
        : Path.of(System.getProperty("user.home"), ".cache", "llm-batch", "models");
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The local folder {@code uri} names. */
  public static Path localPath(String uri) {
    if (uri == null || uri.isBlank()) {
      throw new FlavorException("Cannot resolve model URI '': it is empty; pass a folder holding"
          + " MLmodel");
    }
    var m = SCHEME.matcher(uri);
    if (!m.matches()) {
      return Path.of(uri).toAbsolutePath().normalize();
    }
    String scheme = m.group(1).toLowerCase(Locale.ROOT);
    if (scheme.equals("file")) {
      try {
        URI u = new URI(uri);
        if (u.getAuthority() != null && !u.getAuthority().isEmpty()
            && !u.getAuthority().equals("localhost")) {
          throw new FlavorException("Cannot resolve model URI '" + uri + "': file URIs must name a"
              + " local path (file:///path), not host '" + u.getAuthority() + "'");
        }
        return Path.of(u.getPath()).toAbsolutePath().normalize();
      } catch (URISyntaxException e) {
        throw new FlavorException("Cannot resolve model URI '" + uri + "': " + e.getReason()
            + "; escape spaces as %20 or pass a plain path");
      }
    }
    throw new FlavorException("Cannot use model URI '" + uri + "' as a local path: scheme '"
        + scheme + ":' needs resolving; call ModelLocator.localFolder");
  }
}
