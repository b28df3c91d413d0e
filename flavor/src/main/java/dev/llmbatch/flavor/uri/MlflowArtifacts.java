package dev.llmbatch.flavor.uri;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.flavor.FlavorException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Proxied artifacts ({@code mlflow-artifacts:/<path>}, served by {@code mlflow server
 * --serve-artifacts}): listing through {@code GET /api/2.0/mlflow-artifacts/artifacts?path=} and
 * streamed downloads through {@code GET /api/2.0/mlflow-artifacts/artifacts/<path>}, with the
 * tracking server's credentials. Used on the driver to bring a model to a local or shared folder.
 */
public final class MlflowArtifacts {
  /** The URI scheme of proxied artifacts. */
  public static final String SCHEME = "mlflow-artifacts";
  private static final String API = "mlflow-artifacts/artifacts";

  private final MlflowEnvironment env;

  /** Artifacts behind the tracking server of {@code env}. */
  public MlflowArtifacts(MlflowEnvironment env) {
    this.env = env;
  }

  /** One listed entry: {@code path} relative to the listed folder. */
  public record Entry(String path, boolean isDir, long fileSize) {}

  /** The entries directly under {@code artifactUri}. */
  public List<Entry> list(String artifactUri) {
    Target t = target(artifactUri);
    JsonNode n = t.http.getJson(API, t.path.isEmpty() ? Map.of() : MlflowHttp.query("path", t.path));
    if (n == null) {
      throw FlavorException.of("Cannot list %s: the tracking server %s answered 404", artifactUri,
          t.http.base());
    }
    List<Entry> out = new ArrayList<>();
    for (JsonNode f : n.path("files")) {
      String p = f.path("path").asText();
      // the server answers base names; older clients sent full paths: keep the last segment
      String name = p.substring(p.lastIndexOf('/') + 1);
      if (name.isEmpty() || name.equals(".") || name.equals("..")) {
        throw FlavorException.of("Cannot list %s: the server returned an unsafe name '%s'",
            artifactUri, p);
      }
      out.add(new Entry(name, f.path("is_dir").asBoolean(), f.path("file_size").asLong(0)));
    }
    return out;
  }

  /**
   * Downloads everything under {@code artifactUri} into {@code targetDir} (recursively, each file
   * streamed to a temporary name and moved into place). Returns the number of bytes written.
   */
  public long download(String artifactUri, Path targetDir) {
    Target t = target(artifactUri);
    List<Entry> entries = list(artifactUri);
    if (entries.isEmpty()) {
      // a single file, or an empty / missing folder
      if (!t.path.isEmpty() && t.http.download(API + "/" + MlflowHttp.encPath(t.path),
          targetDir.resolve(t.path.substring(t.path.lastIndexOf('/') + 1)))) {
        return sizeOf(targetDir.resolve(t.path.substring(t.path.lastIndexOf('/') + 1)));
      }
      throw FlavorException.of("Cannot download %s: the tracking server %s lists nothing there",
          artifactUri, t.http.base());
    }
    long bytes = 0;
    for (Entry e : entries) {
      String child = artifactUri.endsWith("/") ? artifactUri + e.path() : artifactUri + "/" + e.path();
      Path local = targetDir.resolve(e.path());
      if (e.isDir()) {
        bytes += download(child, local);
      } else {
        String remote = t.path.isEmpty() ? e.path() : t.path + "/" + e.path();
        if (!t.http.download(API + "/" + MlflowHttp.encPath(remote), local)) {
          throw FlavorException.of("Cannot download %s: listed by %s but the download answered"
              + " 404", child, t.http.base());
        }
        bytes += sizeOf(local);
      }
    }
    return bytes;
  }

  private static long sizeOf(Path p) {
    try {
      return java.nio.file.Files.size(p);
    } catch (java.io.IOException e) {
      return 0;
    }
  }

  private record Target(MlflowHttp http, String path) {}

  private Target target(String artifactUri) {
    if (!artifactUri.startsWith(SCHEME + ":")) {
      throw FlavorException.of("Invalid mlflow-artifacts URI: %s", artifactUri);
    }
    if (!env.trackingIsServer()) {
      throw FlavorException.of("Cannot read %s: proxied artifacts are served by a tracking"
          + " server, but MLFLOW_TRACKING_URI is %s; set it to the server (http[s]://host:port)",
          artifactUri, env.trackingUri());
    }
    URI u = URI.create(artifactUri.replace(" ", "%20"));
    String base = env.trackingUri();
    if (u.getRawAuthority() != null && !u.getRawAuthority().isEmpty()) {
      // mlflow-artifacts://host:port/path names the server; keep the tracking URI's http scheme
      base = MlflowEnvironment.scheme(base) + "://" + u.getRawAuthority();
    }
    String path = u.getPath() == null ? "" : u.getPath();
    while (path.startsWith("/")) {
      path = path.substring(1);
    }
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    if (java.util.Arrays.asList(path.split("/")).contains("..")) {
      throw FlavorException.of("Invalid mlflow-artifacts URI: %s ('..' is not allowed)",
          artifactUri);
    }
    return new Target(new MlflowHttp(base, env.credentials()), path);
  }
}
