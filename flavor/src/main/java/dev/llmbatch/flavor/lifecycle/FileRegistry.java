package dev.llmbatch.flavor.lifecycle;

import dev.llmbatch.flavor.FlavorException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Registers model versions in an MLflow file-store registry ({@code mlruns/models/<name>/}), the
 * way MLflow's file store writes them: {@code meta.yaml} for the registered model (created on first
 * use) and {@code version-<N>/meta.yaml} for the next version N. Creating the version folder is the
 * claim on N, so two concurrent registrations never get the same number; meta.yaml is written to a
 * temporary file and moved into place, so readers never see half of it.
 */
public final class FileRegistry {
  private static final Pattern VERSION_DIR = Pattern.compile("version-(\\d+)");
  private static final Pattern NAME = Pattern.compile("[^/\\\\:]+");

  private final Path root;

  /** The registry of the file store at {@code mlrunsRoot}. */
  public FileRegistry(Path mlrunsRoot) {
    this.root = mlrunsRoot.toAbsolutePath().normalize();
  }

  /**
   * Registers {@code source} (an artifact location URI) as the next version of {@code name} and
   * returns the version number.
   */
  public int register(String name, String source) {
    if (name == null || name.isBlank() || !NAME.matcher(name).matches() || name.startsWith(".")) {
      throw FlavorException.of("Invalid registered model name: '%s' (it must be non-empty and hold"
          + " no '/', '\\' or ':')", name);
    }
    Path modelDir = root.resolve("models").resolve(name);
    long now = System.currentTimeMillis();
    try {
      Files.createDirectories(modelDir);
      Path meta = modelDir.resolve("meta.yaml");
      if (!Files.exists(meta)) {
        writeAtomically(meta, "creation_timestamp: " + now + "\ndescription: ''\n"
            + "last_updated_timestamp: " + now + "\nname: " + yamlString(name) + "\n");
      }
      for (int attempt = 0; attempt < 100; attempt++) {
        int next = maxVersion(modelDir) + 1;
        Path dir = modelDir.resolve("version-" + next);
        try {
          Files.createDirectory(dir);
        } catch (FileAlreadyExistsException e) {
          continue; // someone else took this number: try the next
        }
        writeAtomically(dir.resolve("meta.yaml"), "creation_timestamp: " + now + "\n"
            + "current_stage: None\ndescription: ''\nlast_updated_timestamp: " + now + "\n"
            + "name: " + yamlString(name) + "\nrun_id: ''\nrun_link: ''\nsource: "
            + yamlString(source) + "\nstatus: READY\nstatus_message: ''\nstorage_location: "
            + yamlString(source) + "\nuser_id: ''\nversion: " + next + "\n");
        return next;
      }
      throw FlavorException.of("Cannot register %s in %s: could not claim a version number",
          name, modelDir);
    } catch (IOException e) {
      throw new FlavorException("Cannot register model '" + name + "' in the file-store registry "
          + root + ": " + e + "; check that MLFLOW_REGISTRY_URI (or MLFLOW_TRACKING_URI) names a"
          + " writable mlruns folder", e);
    }
  }

  private static int maxVersion(Path modelDir) throws IOException {
    int max = 0;
    try (Stream<Path> s = Files.list(modelDir)) {
      for (Path p : s.toList()) {
        Matcher m = VERSION_DIR.matcher(p.getFileName().toString());
        if (m.matches()) {
          max = Math.max(max, Integer.parseInt(m.group(1)));
        }
      }
    }
    return max;
  }

  /** A YAML scalar in single quotes (as PyYAML quotes strings that need it). */
  static String yamlString(String s) {
    return "'" + s.replace("'", "''") + "'";
  }

  private static void writeAtomically(Path file, String text) throws IOException {
    Path tmp = Files.createTempFile(file.getParent(), ".meta-", ".tmp");
    try {
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
