package dev.llmbatch.flavor.hf;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.internal.JsonFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A model's {@code config.json}: the keys every architecture shares, typed, plus raw access for the
 * architecture-specific ones (each architecture's config record reads those by their HF names).
 *
 * @param file where it was read from
 * @param modelType {@code model_type}, e.g. {@code llama}, {@code qwen2}, {@code bert}
 * @param architectures {@code architectures}, e.g. {@code [LlamaForCausalLM]}; may be empty
 * @param torchDtype {@code torch_dtype} (or {@code dtype}, transformers 5), e.g. {@code bfloat16}
 * @param raw the whole file
 */
public record HfConfig(Path file, String modelType, List<String> architectures, String torchDtype,
    JsonNode raw) {
  /** The file name. */
  public static final String FILE_NAME = "config.json";

  public HfConfig {
    architectures = architectures == null ? List.of() : List.copyOf(architectures);
    if (modelType == null || modelType.isBlank()) {
      throw new FlavorException("Cannot read " + file + ": key 'model_type' is missing; the"
          + " config.json was not written by transformers' save_pretrained");
    }
    raw = raw.deepCopy();
  }

  /** Reads {@code dir/config.json}. */
  public static HfConfig read(Path dir) {
    Path file = dir.resolve(FILE_NAME);
    JsonNode root = JsonFiles.readObject(file, "the model folder must hold the config.json"
        + " written by save_pretrained");
    List<String> archs = new ArrayList<>();
    root.path("architectures").forEach(a -> archs.add(a.asText()));
    String dtype = root.hasNonNull("torch_dtype") ? root.get("torch_dtype").asText()
        : root.hasNonNull("dtype") ? root.get("dtype").asText() : null;
    return new HfConfig(file, root.path("model_type").asText(null), archs, dtype, root);
  }

  /** The first architecture (the model class), if any. */
  public Optional<String> architecture() {
    return architectures.isEmpty() ? Optional.empty() : Optional.of(architectures.get(0));
  }

  /** A key's raw value (a missing node when absent); a copy, so the record stays immutable. */
  public JsonNode get(String key) {
    JsonNode v = raw.get(key);
    return v == null ? raw.path(key) : v.deepCopy();
  }

  /** An integer key, or {@code orElse} when absent or null. */
  public long getLong(String key, long orElse) {
    JsonNode v = raw.get(key);
    if (v == null || v.isNull()) {
      return orElse;
    }
    if (!v.canConvertToLong() || !v.isIntegralNumber()) {
      throw new FlavorException("Cannot read " + file + ": key '" + key + "' should be an integer"
          + " but is " + v);
    }
    return v.asLong();
  }

  /** A number key, or {@code orElse} when absent or null. */
  public double getDouble(String key, double orElse) {
    JsonNode v = raw.get(key);
    if (v == null || v.isNull()) {
      return orElse;
    }
    if (!v.isNumber()) {
      throw new FlavorException("Cannot read " + file + ": key '" + key + "' should be a number"
          + " but is " + v);
    }
    return v.asDouble();
  }

  /** A string key, or {@code orElse} when absent or null. */
  public String getString(String key, String orElse) {
    JsonNode v = raw.get(key);
    return v == null || v.isNull() ? orElse : v.asText();
  }

  /** A boolean key, or {@code orElse} when absent or null. */
  public boolean getBoolean(String key, boolean orElse) {
    JsonNode v = raw.get(key);
    return v == null || v.isNull() ? orElse : v.asBoolean();
  }
}
