package dev.llmbatch.jobs.cli;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.LoggedModel;
import dev.llmbatch.flavor.hf.HfCache;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The one place where a model URI given on the command line becomes a local {@link LoggedModel}.
 * Today: local paths and {@code file:} URIs; {@code runs:/}, {@code models:/} and Hadoop filesystem
 * URIs are resolved by {@code flavor.uri} (issue 7) and plug in here.
 */
public final class ModelLocator {
  private static final Pattern SCHEME = Pattern.compile("^([A-Za-z][A-Za-z0-9+.-]+):.*");

  private ModelLocator() {}

  /** Opens the model at {@code uri}, with the Hugging Face cache the environment names. */
  public static LoggedModel open(String uri, Map<String, String> env) {
    return LoggedModel.open(localPath(uri), HfCache.fromEnvironment(env));
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
    throw new FlavorException("Cannot resolve model URI '" + uri + "': scheme '" + scheme + ":' is"
        + " not supported yet; pass a local folder or a file:// URI (download it first, e.g."
        + " `mlflow artifacts download -u " + uri + "`)");
  }
}
