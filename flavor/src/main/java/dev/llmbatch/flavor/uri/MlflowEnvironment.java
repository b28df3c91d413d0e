package dev.llmbatch.flavor.uri;

import dev.llmbatch.flavor.FlavorException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The MLflow settings URI resolution reads from the environment: {@code MLFLOW_TRACKING_URI},
 * {@code MLFLOW_REGISTRY_URI} (defaults to the tracking URI), {@code MLFLOW_TRACKING_TOKEN}, or
 * {@code MLFLOW_TRACKING_USERNAME} / {@code MLFLOW_TRACKING_PASSWORD}. The environment is passed in
 * as a map so tests (and jobs) control it. Credentials are never part of {@link #toString()} or of
 * any message. A driver-side object: not serializable on purpose.
 */
public final class MlflowEnvironment {
  public static final String TRACKING_URI = "MLFLOW_TRACKING_URI";
  public static final String REGISTRY_URI = "MLFLOW_REGISTRY_URI";
  public static final String TOKEN = "MLFLOW_TRACKING_TOKEN";
  public static final String USERNAME = "MLFLOW_TRACKING_USERNAME";
  public static final String PASSWORD = "MLFLOW_TRACKING_PASSWORD";
  /** MLflow's default tracking location: {@code ./mlruns} in the working directory. */
  public static final String DEFAULT_TRACKING_DIR = "mlruns";

  private final String trackingUri;
  private final String registryUri;
  private final Path workingDir;
  private final Credentials credentials;

  private MlflowEnvironment(String trackingUri, String registryUri, Path workingDir,
      Credentials credentials) {
    this.trackingUri = trackingUri;
    this.registryUri = registryUri;
    this.workingDir = workingDir;
    this.credentials = credentials;
  }

  /** Reads the settings from {@code env}, resolving relative paths against {@code workingDir}. */
  public static MlflowEnvironment of(Map<String, String> env, Path workingDir) {
    Objects.requireNonNull(env, "env");
    Path cwd = workingDir.toAbsolutePath().normalize();
    String tracking = blankToNull(env.get(TRACKING_URI));
    if (tracking == null) {
      tracking = cwd.resolve(DEFAULT_TRACKING_DIR).toString();
    }
    String registry = blankToNull(env.get(REGISTRY_URI));
    String token = blankToNull(env.get(TOKEN));
    String user = blankToNull(env.get(USERNAME));
    String password = env.get(PASSWORD);
    return new MlflowEnvironment(tracking, registry == null ? tracking : registry, cwd,
        new Credentials(token, user, password));
  }

  /** The process environment and working directory. */
  public static MlflowEnvironment fromSystem() {
    return of(System.getenv(), Path.of(""));
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }

  /** The tracking URI (runs, logged models). */
  public String trackingUri() {
    return trackingUri;
  }

  /** The registry URI ({@code models:/}). */
  public String registryUri() {
    return registryUri;
  }

  /** Credentials for a tracking server (never printed). */
  Credentials credentials() {
    return credentials;
  }

  /** The store runs and logged models are looked up in. */
  public MlflowStore trackingStore() {
    return store(trackingUri, TRACKING_URI);
  }

  /** The store registered models are looked up in. */
  public MlflowStore registryStore() {
    return registryUri.equals(trackingUri) ? trackingStore() : store(registryUri, REGISTRY_URI);
  }

  /** Whether the tracking URI names a tracking server (http or https). */
  public boolean trackingIsServer() {
    return isHttp(trackingUri);
  }

  private MlflowStore store(String uri, String variable) {
    if (isHttp(uri)) {
      return new RestStore(new MlflowHttp(uri, credentials));
    }
    String scheme = scheme(uri);
    if (scheme == null || scheme.equals("file")) {
      return new FileStore(localPath(uri, workingDir));
    }
    if (scheme.startsWith("databricks")) {
      throw FlavorException.of("Cannot use %s=%s: Databricks-hosted tracking and Unity Catalog"
          + " registries are not supported; on Databricks pass the model's /dbfs/ or dbfs:/"
          + " location, or a local copy", variable, uri);
    }
    throw FlavorException.of("Cannot use %s=%s: scheme '%s' is neither a file store (a local path"
        + " or file:///.../mlruns) nor a tracking server (http:// or https://). For a database"
        + " store, run `mlflow server --backend-store-uri %s` and set %s to its http address",
        variable, uri, scheme, uri, variable);
  }

  static boolean isHttp(String uri) {
    String s = scheme(uri);
    return s != null && (s.equals("http") || s.equals("https"));
  }

  /** The lower-case scheme of {@code uri}, or null for a plain path (Windows drives count as paths). */
  static String scheme(String uri) {
    int colon = uri.indexOf(':');
    if (colon <= 1) {
      return null;
    }
    String s = uri.substring(0, colon);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!(Character.isLetterOrDigit(c) || c == '+' || c == '-' || c == '.')) {
        return null;
      }
    }
    return s.toLowerCase(Locale.ROOT);
  }

  /** A local path from a plain path or a {@code file:} URI (relative ones against {@code cwd}). */
  static Path localPath(String uri, Path cwd) {
    if (uri.startsWith("file:")) {
      if (uri.startsWith("file://")) {
        URI u = URI.create(uri.replace(" ", "%20"));
        String host = u.getAuthority();
        if (host != null && !host.isEmpty() && !host.equalsIgnoreCase("localhost")) {
          throw FlavorException.of("Cannot read %s: file URIs naming a host (%s) are not local;"
              + " use file:///absolute/path", uri, host);
        }
        return Path.of(u.getPath());
      }
      String rest = uri.substring("file:".length());
      return cwd.resolve(rest).normalize();
    }
    return cwd.resolve(uri).normalize();
  }

  @Override
  public String toString() {
    return "MLflow tracking " + trackingUri + ", registry " + registryUri + ", auth "
        + credentials.describe();
  }

  /** Tracking-server credentials: a bearer token, or basic auth. */
  record Credentials(String token, String username, String password) {
    /** The Authorization header value, or null when none is configured. */
    String header() {
      if (token != null) {
        return "Bearer " + token;
      }
      if (username != null) {
        String pair = username + ":" + (password == null ? "" : password);
        return "Basic " + java.util.Base64.getEncoder()
            .encodeToString(pair.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
      return null;
    }

    /** Which credentials are used, without their values. */
    String describe() {
      if (token != null) {
        return "bearer token from " + TOKEN;
      }
      if (username != null) {
        return "basic auth from " + USERNAME + "/" + PASSWORD;
      }
      return "none";
    }

    @Override
    public String toString() {
      return describe();
    }
  }
}
