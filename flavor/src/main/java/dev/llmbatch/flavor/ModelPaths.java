package dev.llmbatch.flavor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Path safety for values read from a model's files: a folder named in MLmodel (model_binary,
 * peft_adaptor, ...) must stay inside the model root, both as written and after symlinks, so that
 * a crafted MLmodel cannot make us read (or, for persist, write) anywhere else.
 */
public final class ModelPaths {
  private ModelPaths() {}

  /**
   * Resolves {@code value} (from {@code key} in {@code file}) against {@code root}; throws naming
   * the file, the key and the fix when it is empty, absolute, or escapes the root.
   */
  public static Path inside(Path root, String value, String key, Path file) {
    Path base = root.toAbsolutePath().normalize();
    if (value == null || value.isBlank()) {
      throw escape(file, key, String.valueOf(value), base, "it is empty");
    }
    Path resolved;
    try {
      Path rel = Path.of(value);
      if (rel.isAbsolute() || value.startsWith("/") || value.startsWith("\\")) {
        throw escape(file, key, value, base, "it is an absolute path");
      }
      resolved = base.resolve(rel).normalize();
    } catch (InvalidPathException e) {
      throw escape(file, key, value, base, "it is not a valid path");
    }
    if (!resolved.startsWith(base) || resolved.equals(base)) {
      throw escape(file, key, value, base, "it resolves to " + resolved);
    }
    if (Files.exists(resolved)) {
      try {
        Path real = resolved.toRealPath();
        Path realBase = base.toRealPath();
        if (!real.startsWith(realBase)) {
          throw escape(file, key, value, base, "it is a symlink to " + real);
        }
      } catch (IOException e) {
        throw new FlavorException("Cannot resolve " + key + " '" + value + "' in " + file + ": " + e, e);
      }
    }
    return resolved;
  }

  private static FlavorException escape(Path file, String key, String value, Path base, String why) {
    return new FlavorException("Cannot use " + key + " '" + value + "' in " + file + ": " + why
        + ", outside the model folder " + base + "; it must name a folder inside the model"
        + " (MLflow writes '" + defaultFor(key) + "')");
  }

  private static String defaultFor(String key) {
    return switch (key) {
      case "model_binary" -> "model";
      case "peft_adaptor" -> "peft";
      default -> key.endsWith("_path") || key.contains("component") ? "components/<name>" : "<folder>";
    };
  }
}
