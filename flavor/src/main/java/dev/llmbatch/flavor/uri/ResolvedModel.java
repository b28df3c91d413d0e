package dev.llmbatch.flavor.uri;

import dev.llmbatch.flavor.FlavorException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Where a model URI points, once resolved on the driver.
 *
 * @param uri the URI as given
 * @param location the concrete artifact location: an absolute local path, a Hadoop filesystem URI
 *     ({@code s3a://}, {@code hdfs://}, {@code abfss://}, {@code gs://}, ...), or an
 *     {@code mlflow-artifacts:} URI served by the tracking server
 * @param kind how {@code location} is read
 * @param trail each resolution step, for logs and the job summary (never holds credentials)
 */
public record ResolvedModel(String uri, String location, Kind kind, List<String> trail) {

  /** How a resolved location is read. */
  public enum Kind {
    /** A folder on this machine (or a shared mount such as {@code /dbfs}). */
    LOCAL,
    /** A Hadoop filesystem URI; executors read it through Hadoop's FileSystem. */
    HADOOP,
    /** Proxied by the tracking server; download with {@link MlflowArtifacts} first. */
    MLFLOW_ARTIFACTS
  }

  public ResolvedModel {
    Objects.requireNonNull(uri, "uri");
    Objects.requireNonNull(location, "location");
    Objects.requireNonNull(kind, "kind");
    trail = List.copyOf(trail);
  }

  /** The local folder; only for {@link Kind#LOCAL}. */
  public Path localPath() {
    if (kind != Kind.LOCAL) {
      throw FlavorException.of("Cannot use %s as a local folder: it resolved to %s (%s)", uri,
          location, kind);
    }
    return Path.of(location);
  }

  /** The steps joined for one log line: {@code models:/x/1 -> runs:/abc/model -> /path}. */
  public String describe() {
    return String.join(" -> ", trail);
  }
}
