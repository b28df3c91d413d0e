package dev.llmbatch.engine.model.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.layers.RopeConfig;
import java.nio.file.Path;

/** Typed reads of a config.json, with errors that name the file and the key. */
final class HfConfig {
  private final JsonNode root;
  private final Path file;

  HfConfig(JsonNode root, Path file) {
    this.root = root;
    this.file = file;
  }

  JsonNode node(String key) {
    JsonNode n = root.get(key);
    return n == null || n.isNull() ? null : n;
  }

  boolean has(String key) {
    return node(key) != null;
  }

  int integer(String key) {
    JsonNode n = node(key);
    if (n == null || !n.canConvertToInt()) {
      throw new EngineException("Cannot read " + file + ": key '" + key + "' is "
          + (n == null ? "missing" : "not an integer: " + n) + ", and the architecture needs it");
    }
    return n.asInt();
  }

  int integer(String key, int fallback) {
    return has(key) ? integer(key) : fallback;
  }

  double number(String key, double fallback) {
    JsonNode n = node(key);
    if (n == null) {
      return fallback;
    }
    if (!n.isNumber()) {
      throw new EngineException("Cannot read " + file + ": key '" + key + "' is not a number: "
          + n);
    }
    return n.asDouble();
  }

  boolean bool(String key, boolean fallback) {
    JsonNode n = node(key);
    return n == null ? fallback : n.asBoolean();
  }

  String text(String key, String fallback) {
    JsonNode n = node(key);
    return n == null ? fallback : n.asText();
  }

  /**
   * {@code rope_theta}, {@code partial_rotary_factor} and {@code rope_scaling} (with the old
   * {@code type} key accepted for {@code rope_type}) for heads of {@code headDim}.
   */
  RopeConfig rope(int headDim, int maxPositions, double defaultTheta) {
    double theta = number("rope_theta", defaultTheta);
    int rotary = (int) (headDim * number("partial_rotary_factor", 1.0));
    JsonNode s = node("rope_scaling");
    if (s == null) {
      return RopeConfig.plain(theta, rotary);
    }
    JsonNode typeNode = s.has("rope_type") ? s.get("rope_type") : s.get("type");
    String type = typeNode == null ? "default" : typeNode.asText();
    double factor = s.path("factor").asDouble(1.0);
    return switch (type) {
      case "default" -> RopeConfig.plain(theta, rotary);
      case "linear" -> new RopeConfig(theta, rotary, RopeConfig.Type.LINEAR, factor, 0, 0, 0);
      case "dynamic" -> new RopeConfig(theta, rotary, RopeConfig.Type.DYNAMIC, factor, 0, 0,
          maxPositions);
      case "llama3" -> new RopeConfig(theta, rotary, RopeConfig.Type.LLAMA3, factor,
          s.path("low_freq_factor").asDouble(1.0), s.path("high_freq_factor").asDouble(4.0),
          s.path("original_max_position_embeddings").asInt(8192));
      default -> throw new EngineException("Cannot use rope_scaling type '" + type + "' from "
          + file + ": supported are default, linear, dynamic, llama3");
    };
  }
}
