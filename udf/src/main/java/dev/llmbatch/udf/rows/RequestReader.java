package dev.llmbatch.udf.rows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.udf.UdfException;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;

/**
 * Reads rows of one input schema as OpenAI request bodies. Built on the driver (where a missing
 * column is a configuration error, thrown at once) and shipped to executors (where any bad value
 * becomes that row's {@link RowError}, never an exception).
 *
 * <p>Parameters are merged lowest first: the transform's defaults, the parameters inside a JSON
 * request body given as the input, the {@code params} column (struct, map or JSON string), then the
 * per-parameter columns named like OpenAI's ({@code temperature}, {@code max_tokens}, ...).
 */
public final class RequestReader implements Serializable {
  private static final long serialVersionUID = 1L;

  private final Endpoint endpoint;
  private final int inputIdx;
  private final boolean inputIsString;
  private final int paramsIdx;
  private final int idIdx;
  private final String[] paramNames;
  private final int[] paramIdx;
  private final String defaultsJson;
  private transient ObjectNode defaults;

  /**
   * @param schema the input schema
   * @param endpoint which request the rows hold
   * @param inputCol the messages/prompt/input column (required)
   * @param paramsCol a params struct/map/JSON column, or null/empty for none
   * @param paramCols per-parameter columns; null means every column whose name is an OpenAI
   *     parameter of this endpoint
   * @param idCol the row-key column, or null/empty to hash the request
   * @param defaultsJson default parameters as a JSON object, or null
   */
  public RequestReader(StructType schema, Endpoint endpoint, String inputCol, String paramsCol,
      List<String> paramCols, String idCol, String defaultsJson) {
    this.endpoint = endpoint;
    this.inputIdx = index(schema, inputCol, "input");
    this.inputIsString = schema.fields()[inputIdx].dataType() instanceof StringType;
    this.paramsIdx = blank(paramsCol) ? -1 : index(schema, paramsCol, "params");
    this.idIdx = blank(idCol) ? -1 : index(schema, idCol, "id");
    List<String> names = new ArrayList<>();
    List<Integer> idx = new ArrayList<>();
    if (paramCols == null) {
      for (int i = 0; i < schema.fields().length; i++) {
        String n = schema.fields()[i].name();
        if (i != inputIdx && i != paramsIdx && i != idIdx && ParamRules.names(endpoint).contains(n)) {
          names.add(n);
          idx.add(i);
        }
      }
    } else {
      for (String c : paramCols) {
        if (!ParamRules.names(endpoint).contains(c)) {
          throw new UdfException("Cannot use column " + c + " as a parameter: " + endpoint.url()
              + " takes " + new java.util.TreeSet<>(ParamRules.names(endpoint)));
        }
        names.add(c);
        idx.add(index(schema, c, "parameter"));
      }
    }
    this.paramNames = names.toArray(String[]::new);
    this.paramIdx = idx.stream().mapToInt(Integer::intValue).toArray();
    this.defaultsJson = blank(defaultsJson) ? "{}" : defaultsJson;
    defaults();
  }

  /** The parameter columns in use, for logs and tests. */
  public List<String> parameterColumns() {
    return List.of(paramNames);
  }

  /** Reads one row; never throws for bad data. */
  public ParsedRequest read(Row row) {
    Map<String, Object> columns = new LinkedHashMap<>();
    for (int i = 0; i < paramIdx.length; i++) {
      if (!row.isNullAt(paramIdx[i])) {
        columns.put(paramNames[i], row.get(paramIdx[i]));
      }
    }
    Object id = idIdx < 0 || row.isNullAt(idIdx) ? null : row.get(idIdx);
    return read(endpoint, row.get(inputIdx), inputIsString, paramsIdx < 0 ? null : row.get(paramsIdx),
        columns, id == null ? null : String.valueOf(id), defaults());
  }

  /**
   * Reads one request from raw Spark values (the SQL functions' path).
   *
   * @param input the messages/prompt/input value
   * @param inputIsString whether that value came from a string column (JSON text for chat)
   * @param params a params value (Row, map or JSON string), or null
   * @param paramColumns single parameters by name, or empty
   * @param rowKey the row key, or null to hash the request
   * @param defaults default parameters
   */
  public static ParsedRequest read(Endpoint endpoint, Object input, boolean inputIsString,
      Object params, Map<String, Object> paramColumns, String rowKey, ObjectNode defaults) {
    try {
      ObjectNode body = JsonRows.MAPPER.createObjectNode();
      Map<String, JsonNode> merged = new LinkedHashMap<>();
      ParamRules.putAll(endpoint, defaults, merged);
      JsonNode main = mainInput(endpoint, input, inputIsString, merged);
      ParamRules.putAll(endpoint, paramsJson(params), merged);
      for (Map.Entry<String, Object> e : paramColumns.entrySet()) {
        merged.put(e.getKey(), ParamRules.check(endpoint, e.getKey(), JsonRows.toJson(e.getValue())));
      }
      body.set(switch (endpoint) {
        case CHAT -> "messages";
        case COMPLETIONS -> "prompt";
        case EMBEDDINGS -> "input";
      }, main);
      merged.forEach(body::set);
      return ParsedRequest.ok(body, rowKey != null ? rowKey : hashKey(endpoint, body));
    } catch (InvalidRow e) {
      return ParsedRequest.failed(e.error(), rowKey);
    } catch (RuntimeException e) {
      return ParsedRequest.failed(RowError.invalid("Cannot read request: " + e), rowKey);
    }
  }

  private static JsonNode mainInput(Endpoint endpoint, Object input, boolean isString,
      Map<String, JsonNode> merged) throws InvalidRow {
    if (endpoint != Endpoint.CHAT || !isString || input == null) {
      JsonNode v = JsonRows.toJson(input);
      return switch (endpoint) {
        case CHAT -> InputReader.messages(v);
        case COMPLETIONS -> InputReader.prompt(v);
        case EMBEDDINGS -> InputReader.embeddingInput(v);
      };
    }
    JsonNode parsed = parseJson("messages", (String) input);
    if (parsed.isObject()) {
      // A whole request body, e.g. the "body" of an OpenAI batch line.
      JsonNode messages = parsed.get("messages");
      if (messages == null) {
        throw InvalidRow.request("Invalid messages: the JSON object has no \"messages\" key");
      }
      var it = parsed.fields();
      while (it.hasNext()) {
        var e = it.next();
        if (!e.getKey().equals("messages") && !e.getValue().isNull()) {
          merged.put(e.getKey(), ParamRules.check(endpoint, e.getKey(), e.getValue()));
        }
      }
      return InputReader.messages(messages);
    }
    return InputReader.messages(parsed);
  }

  private static JsonNode paramsJson(Object params) throws InvalidRow {
    if (params == null) {
      return null;
    }
    if (params instanceof String s) {
      return s.isBlank() ? null : parseJson("params", s);
    }
    return JsonRows.toJson(params);
  }

  private static JsonNode parseJson(String what, String text) throws InvalidRow {
    try {
      JsonNode n = JsonRows.MAPPER.readTree(text);
      if (n == null || n.isMissingNode()) {
        throw new InvalidRow(RowError.INVALID_JSON, "Invalid " + what + ": empty JSON text");
      }
      return n;
    } catch (IOException e) {
      String msg = e instanceof com.fasterxml.jackson.core.JsonProcessingException jpe
          ? jpe.getOriginalMessage() : e.getMessage();
      throw new InvalidRow(RowError.INVALID_JSON, "Invalid " + what + ": malformed JSON: " + msg);
    }
  }

  /** A stable key for a request without an id: SHA-256 over the endpoint and the canonical body. */
  public static String hashKey(Endpoint endpoint, JsonNode body) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(endpoint.url().getBytes(StandardCharsets.UTF_8));
      md.update((byte) '\n');
      md.update(JsonRows.canonical(body).getBytes(StandardCharsets.UTF_8));
      return "h" + HexFormat.of().formatHex(md.digest(), 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Parses a default-parameters JSON object, failing on the driver for a bad one. */
  public static ObjectNode parseDefaults(Endpoint endpoint, String json) {
    if (blank(json)) {
      return JsonRows.MAPPER.createObjectNode();
    }
    try {
      JsonNode n = JsonRows.MAPPER.readTree(json);
      if (!n.isObject()) {
        throw new UdfException("Invalid default parameters: " + json + " is not a JSON object");
      }
      Map<String, JsonNode> checked = new LinkedHashMap<>();
      ParamRules.putAll(endpoint, n, checked);
      ObjectNode o = JsonRows.MAPPER.createObjectNode();
      checked.forEach(o::set);
      return o;
    } catch (IOException e) {
      throw new UdfException("Invalid default parameters: malformed JSON " + json + ": " + e.getMessage(), e);
    } catch (InvalidRow e) {
      throw new UdfException("Invalid default parameters: " + e.getMessage());
    }
  }

  private ObjectNode defaults() {
    if (defaults == null) {
      defaults = parseDefaults(endpoint, defaultsJson);
    }
    return defaults;
  }

  private static int index(StructType schema, String col, String role) {
    if (blank(col)) {
      throw new UdfException("Cannot read requests: the " + role + " column name is empty");
    }
    for (int i = 0; i < schema.fields().length; i++) {
      if (schema.fields()[i].name().equals(col)) {
        return i;
      }
    }
    for (int i = 0; i < schema.fields().length; i++) {
      if (schema.fields()[i].name().toLowerCase(Locale.ROOT).equals(col.toLowerCase(Locale.ROOT))) {
        return i;
      }
    }
    throw new UdfException("Cannot find " + role + " column " + col + " in the input: it has "
        + String.join(", ", schema.fieldNames()));
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }
}
