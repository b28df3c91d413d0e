package dev.llmbatch.udf.rows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Set;

/**
 * Validates the main input of a row — chat {@code messages}, a completion {@code prompt}, an
 * embedding {@code input} — already converted to JSON, and normalises it to what the engine takes.
 */
final class InputReader {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");

  private InputReader() {}

  /** {@code messages}: a non-empty array of {role, content[, name]} objects. */
  static ArrayNode messages(JsonNode v) throws InvalidRow {
    if (v == null || v.isNull()) {
      throw InvalidRow.request("Invalid messages: null; each row needs an array of {role, content}");
    }
    if (!v.isArray()) {
      throw InvalidRow.request("Invalid messages: " + ParamRules.abbreviate(v)
          + " is not an array of {role, content}");
    }
    if (v.isEmpty()) {
      throw InvalidRow.request("Invalid messages: the array is empty");
    }
    ArrayNode out = NODES.arrayNode();
    for (int i = 0; i < v.size(); i++) {
      out.add(message(i, v.get(i)));
    }
    return out;
  }

  private static ObjectNode message(int i, JsonNode m) throws InvalidRow {
    String where = "messages[" + i + "]";
    if (m == null || !m.isObject()) {
      throw InvalidRow.request("Invalid " + where + ": " + (m == null ? "null" : ParamRules.abbreviate(m))
          + " is not an object {role, content}");
    }
    ObjectNode out = ((ObjectNode) m).deepCopy();
    JsonNode role = m.get("role");
    if (role == null || role.isNull()) {
      throw InvalidRow.request("Invalid " + where + ".role: missing; use one of " + new java.util.TreeSet<>(ROLES));
    }
    if (!role.isTextual() || !ROLES.contains(role.textValue())) {
      throw InvalidRow.request("Invalid " + where + ".role: " + role + " is not one of "
          + new java.util.TreeSet<>(ROLES));
    }
    JsonNode content = m.get("content");
    if (content == null || content.isNull()) {
      throw InvalidRow.request("Invalid " + where + ".content: missing; a " + role.textValue()
          + " message needs text content");
    }
    out.put("content", content(where, content));
    JsonNode name = m.get("name");
    if (name != null && !name.isNull() && !name.isTextual()) {
      throw InvalidRow.request("Invalid " + where + ".name: " + name + " is not a string");
    }
    return out;
  }

  /** A string, or OpenAI content parts {type: "text", text} joined by newlines. */
  private static String content(String where, JsonNode content) throws InvalidRow {
    if (content.isTextual()) {
      return content.textValue();
    }
    if (content.isArray()) {
      StringBuilder sb = new StringBuilder();
      for (JsonNode part : content) {
        JsonNode type = part.get("type");
        JsonNode text = part.get("text");
        if (type == null || !"text".equals(type.asText()) || text == null || !text.isTextual()) {
          throw InvalidRow.request("Invalid " + where + ".content: part " + ParamRules.abbreviate(part)
              + " is not a text part {type: \"text\", text}; only text is supported");
        }
        if (sb.length() > 0) {
          sb.append('\n');
        }
        sb.append(text.textValue());
      }
      return sb.toString();
    }
    throw InvalidRow.request("Invalid " + where + ".content: " + ParamRules.abbreviate(content)
        + " is not a string");
  }

  /** {@code prompt}: a string. */
  static JsonNode prompt(JsonNode v) throws InvalidRow {
    if (v == null || v.isNull()) {
      throw InvalidRow.request("Invalid prompt: null; each row needs a prompt string");
    }
    if (!v.isTextual()) {
      throw InvalidRow.request("Invalid prompt: " + ParamRules.abbreviate(v) + " is not a string");
    }
    return v;
  }

  /** {@code input}: a non-empty string or a non-empty array of non-empty strings. */
  static JsonNode embeddingInput(JsonNode v) throws InvalidRow {
    if (v == null || v.isNull()) {
      throw InvalidRow.request("Invalid input: null; each row needs a string or an array of strings");
    }
    if (v.isTextual()) {
      if (v.textValue().isEmpty()) {
        throw InvalidRow.request("Invalid input: an empty string cannot be embedded");
      }
      return v;
    }
    if (v.isArray() && !v.isEmpty()) {
      for (int i = 0; i < v.size(); i++) {
        JsonNode s = v.get(i);
        if (s == null || !s.isTextual() || s.textValue().isEmpty()) {
          throw InvalidRow.request("Invalid input[" + i + "]: " + s + " is not a non-empty string");
        }
      }
      return v;
    }
    throw InvalidRow.request("Invalid input: " + ParamRules.abbreviate(v)
        + " is not a string or a non-empty array of strings");
  }
}
