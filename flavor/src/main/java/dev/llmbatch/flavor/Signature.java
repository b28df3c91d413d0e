package dev.llmbatch.flavor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code signature} block. MLflow stores {@code inputs}, {@code outputs} and {@code params} each
 * as a JSON <em>string</em>; their shapes changed across MLflow releases, so they are parsed
 * generically into trees and never matched exactly.
 *
 * @param inputs the {@code inputs} JSON text, or null
 * @param outputs the {@code outputs} JSON text, or null
 * @param params the {@code params} JSON text, or null
 * @param extra every other key, kept as written
 */
public record Signature(String inputs, String outputs, String params, Map<String, Object> extra) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public Signature {
    extra = extra == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    parse("inputs", inputs);
    parse("outputs", outputs);
    parse("params", params);
  }

  /** The parsed inputs schema (a JSON array for column-based signatures), or a missing node. */
  public JsonNode inputsTree() {
    return parse("inputs", inputs);
  }

  /** The parsed outputs schema, or a missing node. */
  public JsonNode outputsTree() {
    return parse("outputs", outputs);
  }

  /** The parsed params schema, or a missing node. */
  public JsonNode paramsTree() {
    return parse("params", params);
  }

  /** Names of the input columns (entries with a {@code name}), in order. */
  public List<String> inputNames() {
    return names(inputsTree());
  }

  /** Names of the params, in order. */
  public List<String> paramNames() {
    return names(paramsTree());
  }

  private static List<String> names(JsonNode tree) {
    List<String> out = new ArrayList<>();
    if (tree.isArray()) {
      for (JsonNode e : tree) {
        if (e.hasNonNull("name")) {
          out.add(e.get("name").asText());
        }
      }
    }
    return out;
  }

  private static JsonNode parse(String key, String text) {
    if (text == null) {
      return JSON.missingNode();
    }
    try {
      JsonNode n = JSON.readTree(text);
      return n == null ? JSON.missingNode() : n;
    } catch (JsonProcessingException e) {
      throw new FlavorException("Cannot read signature." + key + ": it must be a JSON string, but '"
          + abbreviate(text) + "' is not valid JSON (" + e.getOriginalMessage() + ")");
    }
  }

  private static String abbreviate(String s) {
    return s.length() > 60 ? s.substring(0, 57) + "..." : s;
  }
}
