package dev.llmbatch.flavor.internal;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.flavor.FlavorException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads typed values out of a parsed YAML/JSON object, removing each key it consumes so that what
 * is left over can be kept as the record's {@code extra} map. Lenient on purpose: MLflow and
 * transformers add keys every release, and a value of an unexpected shape is reported with its key.
 */
public final class Nodes {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final ObjectNode node;
  private final String where;

  private Nodes(ObjectNode node, String where) {
    this.node = node;
    this.where = where;
  }

  /** Wraps a copy of {@code node} (never modifies the caller's tree); {@code where} names the file. */
  public static Nodes of(JsonNode node, String where) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return new Nodes(MAPPER.createObjectNode(), where);
    }
    if (!node.isObject()) {
      throw new FlavorException("Cannot read " + where + ": expected a mapping but found "
          + node.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " '" + node + "'");
    }
    return new Nodes(((ObjectNode) node).deepCopy(), where);
  }

  /** Removes and returns a key's node, or null when absent. */
  public JsonNode take(String key) {
    JsonNode v = node.remove(key);
    return v == null || v.isNull() ? null : v;
  }

  /** Whether a key is present (even with a null value). */
  public boolean has(String key) {
    return node.has(key);
  }

  /** A scalar as text (numbers and booleans as written), or null when absent or null. */
  public String text(String key) {
    JsonNode v = take(key);
    if (v == null) {
      return null;
    }
    if (!v.isValueNode()) {
      throw bad(key, "a plain value", v);
    }
    return v.asText();
  }

  /** A boolean (also "true"/"false" strings), or null when absent. */
  public Boolean bool(String key) {
    JsonNode v = take(key);
    if (v == null) {
      return null;
    }
    if (v.isBoolean()) {
      return v.booleanValue();
    }
    if (v.isTextual() && (v.asText().equalsIgnoreCase("true") || v.asText().equalsIgnoreCase("false"))) {
      return Boolean.parseBoolean(v.asText());
    }
    throw bad(key, "true or false", v);
  }

  /** An integral number, or null when absent. */
  public Long integer(String key) {
    JsonNode v = take(key);
    if (v == null) {
      return null;
    }
    if (v.isIntegralNumber() && v.canConvertToLong()) {
      return v.longValue();
    }
    if (v.isNumber() && v.doubleValue() == Math.rint(v.doubleValue())
        && Math.abs(v.doubleValue()) < 9.0e15) {
      return (long) v.doubleValue();
    }
    if (v.isTextual()) {
      try {
        return Long.parseLong(v.asText().trim());
      } catch (NumberFormatException ignored) {
        // reported below
      }
    }
    throw bad(key, "an integer", v);
  }

  /** A number, or null when absent. */
  public Double number(String key) {
    JsonNode v = take(key);
    if (v == null) {
      return null;
    }
    if (v.isNumber()) {
      return v.doubleValue();
    }
    if (v.isTextual()) {
      try {
        return Double.parseDouble(v.asText().trim());
      } catch (NumberFormatException ignored) {
        // reported below
      }
    }
    throw bad(key, "a number", v);
  }

  /** A list of scalars as strings (a lone scalar becomes a one-element list); empty when absent. */
  public List<String> texts(String key) {
    JsonNode v = take(key);
    if (v == null) {
      return List.of();
    }
    if (v.isValueNode()) {
      return List.of(v.asText());
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : v) {
      if (!e.isValueNode()) {
        throw bad(key, "a list of plain values", v);
      }
      out.add(e.asText());
    }
    return List.copyOf(out);
  }

  /** A nested mapping as plain Java values (insertion order kept); empty when absent. */
  public Map<String, Object> map(String key) {
    JsonNode v = take(key);
    if (v == null) {
      return Map.of();
    }
    if (!v.isObject()) {
      throw bad(key, "a mapping", v);
    }
    return toMap(v);
  }

  /** Everything not consumed yet, as plain Java values in file order. */
  public Map<String, Object> rest() {
    return toMap(node);
  }

  /** Converts an object node to an unmodifiable insertion-ordered map of plain Java values. */
  public static Map<String, Object> toMap(JsonNode v) {
    Map<String, Object> m = MAPPER.convertValue(v, new TypeReference<LinkedHashMap<String, Object>>() {});
    return Collections.unmodifiableMap(m == null ? new LinkedHashMap<>() : m);
  }

  /** Converts plain Java values back to a tree. */
  public static JsonNode toTree(Object value) {
    return MAPPER.valueToTree(value);
  }

  private FlavorException bad(String key, String expected, JsonNode v) {
    String shown = v.toString();
    if (shown.length() > 80) {
      shown = shown.substring(0, 77) + "...";
    }
    return new FlavorException("Cannot read " + where + ": key '" + key + "' should be "
        + expected + " but is " + shown + "; fix the value or remove the key");
  }
}
