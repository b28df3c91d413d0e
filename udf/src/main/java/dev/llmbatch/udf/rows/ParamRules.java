package dev.llmbatch.udf.rows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.Map;
import java.util.Set;

/**
 * The OpenAI request parameters a row may carry, with their types and ranges. Values are checked
 * and normalised here (a {@code "0.5"} from a {@code map<string,string>} becomes 0.5), so a bad
 * value is that row's {@code invalid_request_error} before anything reaches the engine.
 */
final class ParamRules {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** Parameter names that per-row columns may carry, by endpoint. */
  static final Set<String> GENERATION = Set.of("temperature", "top_p", "top_k", "max_tokens",
      "max_completion_tokens", "stop", "n", "seed", "ignore_eos", "presence_penalty",
      "frequency_penalty", "repetition_penalty", "min_p", "response_format", "logprobs",
      "top_logprobs", "stream", "user", "model", "chat_template_kwargs", "echo", "logit_bias");
  static final Set<String> EMBEDDING = Set.of("dimensions", "encoding_format", "user", "model");

  private ParamRules() {}

  static Set<String> names(Endpoint endpoint) {
    return endpoint == Endpoint.EMBEDDINGS ? EMBEDDING : GENERATION;
  }

  /** The checked, normalised value of parameter {@code name}; throws for a bad one. */
  static JsonNode check(Endpoint endpoint, String name, JsonNode v) throws InvalidRow {
    if (!names(endpoint).contains(name)) {
      throw InvalidRow.request("Invalid parameter " + name + ": unknown for " + endpoint.url()
          + " (known: " + new java.util.TreeSet<>(names(endpoint)) + ")");
    }
    return switch (name) {
      case "temperature" -> number(name, v, 0, 2);
      case "top_p" -> numberAbove(name, v, 0, 1);
      case "min_p" -> number(name, v, 0, 1);
      case "presence_penalty", "frequency_penalty" -> number(name, v, -2, 2);
      case "repetition_penalty" -> numberAbove(name, v, 0, Double.MAX_VALUE);
      case "top_k" -> integer(name, v, -1, Integer.MAX_VALUE);
      case "max_tokens", "max_completion_tokens" -> integer(name, v, 1, Integer.MAX_VALUE);
      case "n" -> integer(name, v, 1, 128);
      case "top_logprobs" -> integer(name, v, 0, 20);
      case "dimensions" -> integer(name, v, 1, Integer.MAX_VALUE);
      case "seed" -> integer(name, v, Long.MIN_VALUE, Long.MAX_VALUE);
      case "ignore_eos", "logprobs", "echo" -> bool(name, v);
      case "stream" -> stream(v);
      case "stop" -> stop(v);
      case "encoding_format" -> encodingFormat(v);
      case "user", "model" -> text(name, v);
      case "response_format", "chat_template_kwargs", "logit_bias" -> object(name, v);
      default -> v;
    };
  }

  private static JsonNode number(String name, JsonNode v, double lo, double hi) throws InvalidRow {
    double d = toDouble(name, v);
    if (d < lo || d > hi) {
      throw InvalidRow.request("Invalid " + name + ": " + v + " is outside [" + fmt(lo) + ", " + fmt(hi) + "]");
    }
    return NODES.numberNode(d);
  }

  private static JsonNode numberAbove(String name, JsonNode v, double lo, double hi) throws InvalidRow {
    double d = toDouble(name, v);
    if (d <= lo || d > hi) {
      throw InvalidRow.request("Invalid " + name + ": " + v + " must be > " + fmt(lo)
          + (hi < Double.MAX_VALUE ? " and <= " + fmt(hi) : ""));
    }
    return NODES.numberNode(d);
  }

  private static double toDouble(String name, JsonNode v) throws InvalidRow {
    if (v.isNumber()) {
      double d = v.asDouble();
      if (Double.isFinite(d)) {
        return d;
      }
    } else if (v.isTextual()) {
      try {
        double d = Double.parseDouble(v.textValue().trim());
        if (Double.isFinite(d)) {
          return d;
        }
      } catch (NumberFormatException ignored) {
        // reported below
      }
    }
    throw InvalidRow.request("Invalid " + name + ": " + v + " is not a number");
  }

  private static JsonNode integer(String name, JsonNode v, long lo, long hi) throws InvalidRow {
    long l;
    if (v.isIntegralNumber() && v.canConvertToLong()) {
      l = v.asLong();
    } else if (v.isFloatingPointNumber() && v.asDouble() == Math.rint(v.asDouble())
        && Math.abs(v.asDouble()) < 9.0e15) {
      l = (long) v.asDouble();
    } else if (v.isTextual() && v.textValue().trim().matches("[+-]?\\d{1,18}")) {
      l = Long.parseLong(v.textValue().trim());
    } else {
      throw InvalidRow.request("Invalid " + name + ": " + v + " is not an integer");
    }
    if (l < lo || l > hi) {
      throw InvalidRow.request("Invalid " + name + ": " + l + " is outside ["
          + (lo == Long.MIN_VALUE ? "-inf" : lo) + ", " + (hi >= Integer.MAX_VALUE ? "inf" : hi) + "]");
    }
    return NODES.numberNode(l);
  }

  private static JsonNode bool(String name, JsonNode v) throws InvalidRow {
    if (v.isBoolean()) {
      return v;
    }
    if (v.isTextual() && v.textValue().trim().matches("(?i)true|false")) {
      return NODES.booleanNode(Boolean.parseBoolean(v.textValue().trim()));
    }
    throw InvalidRow.request("Invalid " + name + ": " + v + " is not a boolean");
  }

  private static JsonNode stream(JsonNode v) throws InvalidRow {
    JsonNode b = bool("stream", v);
    if (b.booleanValue()) {
      throw InvalidRow.request("Invalid stream: true; a batch job writes whole responses, remove stream");
    }
    return b;
  }

  private static JsonNode stop(JsonNode v) throws InvalidRow {
    if (v.isTextual()) {
      return v;
    }
    if (v.isArray()) {
      if (v.size() > 4) {
        throw InvalidRow.request("Invalid stop: " + v.size() + " sequences, at most 4 are allowed");
      }
      for (JsonNode s : v) {
        if (!s.isTextual() || s.textValue().isEmpty()) {
          throw InvalidRow.request("Invalid stop: " + s + " is not a non-empty string");
        }
      }
      return v;
    }
    throw InvalidRow.request("Invalid stop: " + v + " is not a string or an array of strings");
  }

  private static JsonNode encodingFormat(JsonNode v) throws InvalidRow {
    if (v.isTextual() && v.textValue().equals("float")) {
      return v;
    }
    throw InvalidRow.request("Invalid encoding_format: " + v
        + "; Spark outputs array<float>, so only \"float\" is supported");
  }

  private static JsonNode text(String name, JsonNode v) throws InvalidRow {
    if (!v.isTextual()) {
      throw InvalidRow.request("Invalid " + name + ": " + v + " is not a string");
    }
    return v;
  }

  private static JsonNode object(String name, JsonNode v) throws InvalidRow {
    if (v.isTextual()) {
      try {
        JsonNode parsed = JsonRows.MAPPER.readTree(v.textValue());
        if (parsed != null && parsed.isObject()) {
          return parsed;
        }
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new InvalidRow(RowError.INVALID_JSON, "Invalid " + name + ": malformed JSON: "
            + e.getOriginalMessage());
      }
    }
    if (!v.isObject()) {
      throw InvalidRow.request("Invalid " + name + ": " + v + " is not an object");
    }
    return v;
  }

  private static String fmt(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }

  /** Unused-key guard for callers iterating a params object. */
  static void putAll(Endpoint endpoint, JsonNode params, Map<String, JsonNode> out) throws InvalidRow {
    if (params == null || params.isNull()) {
      return;
    }
    if (!params.isObject()) {
      throw InvalidRow.request("Invalid params: " + abbreviate(params) + " is not an object");
    }
    var it = params.fields();
    while (it.hasNext()) {
      var e = it.next();
      if (!e.getValue().isNull()) {
        out.put(e.getKey(), check(endpoint, e.getKey(), e.getValue()));
      }
    }
  }

  static String abbreviate(JsonNode v) {
    String s = v.toString();
    return s.length() > 80 ? s.substring(0, 77) + "..." : s;
  }
}
