package dev.llmbatch.udf.rows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.udf.UdfException;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

class RequestReaderTest {
  private static final StructType MESSAGE = new StructType()
      .add("role", DataTypes.StringType).add("content", DataTypes.StringType)
      .add("name", DataTypes.StringType);
  private static final StructType STRUCT_SCHEMA = new StructType()
      .add("id", DataTypes.StringType)
      .add("messages", DataTypes.createArrayType(MESSAGE))
      .add("temperature", DataTypes.StringType)
      .add("max_tokens", DataTypes.IntegerType);
  private static final StructType JSON_SCHEMA = new StructType()
      .add("messages", DataTypes.StringType)
      .add("params", DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType));

  private static Row msg(String role, String content) {
    return new GenericRowWithSchema(new Object[] {role, content, null}, MESSAGE);
  }

  private static Row structRow(String id, List<Object> messages, String temperature, Integer maxTokens) {
    return new GenericRowWithSchema(new Object[] {id,
        messages == null ? null : JsonRows.seq(messages), temperature, maxTokens}, STRUCT_SCHEMA);
  }

  private static Row jsonRow(String messages, Map<String, String> params) {
    Object p = params == null ? null
        : scala.jdk.javaapi.CollectionConverters.asScala(params);
    return new GenericRowWithSchema(new Object[] {messages, p}, JSON_SCHEMA);
  }

  private final RequestReader structs = new RequestReader(STRUCT_SCHEMA, Endpoint.CHAT, "messages",
      null, null, "id", "{\"max_tokens\": 8, \"temperature\": 0}");
  private final RequestReader jsons = new RequestReader(JSON_SCHEMA, Endpoint.CHAT, "messages",
      "params", null, null, null);

  @Test
  void structMessagesBecomeABodyWithMergedParameters() {
    ParsedRequest p = structs.read(structRow("r1", List.of(msg("system", "Be brief."),
        msg("user", "Hi")), "0.5", null));
    assertTrue(p.isOk(), () -> String.valueOf(p.error()));
    assertEquals("r1", p.rowKey());
    JsonNode b = p.body();
    assertEquals(2, b.get("messages").size());
    assertEquals("user", b.get("messages").get(1).get("role").asText());
    assertNull(b.get("messages").get(1).get("name"), "null struct fields are left out");
    assertEquals(0.5, b.get("temperature").asDouble(), "the column wins over the default");
    assertEquals(8, b.get("max_tokens").asInt(), "the default applies when the column is null");
    assertEquals(List.of("temperature", "max_tokens"), structs.parameterColumns());
  }

  @Test
  void badValuesBecomeRowErrorsNamingTheField() {
    RowError hot = structs.read(structRow("r", List.of(msg("user", "x")), "hot", null)).error();
    assertEquals(RowError.INVALID_REQUEST, hot.code());
    assertTrue(hot.message().contains("temperature") && hot.message().contains("hot"), hot.message());

    RowError neg = structs.read(structRow("r", List.of(msg("user", "x")), null, -3)).error();
    assertEquals(RowError.INVALID_REQUEST, neg.code());
    assertTrue(neg.message().contains("max_tokens"), neg.message());

    RowError nul = structs.read(structRow("r", null, null, null)).error();
    assertTrue(nul.message().startsWith("Invalid messages: null"), nul.message());

    RowError role = structs.read(structRow("r", List.of(msg("wizard", "x")), null, null)).error();
    assertTrue(role.message().contains("messages[0].role") && role.message().contains("wizard"),
        role.message());

    RowError empty = structs.read(structRow("r", List.of(), null, null)).error();
    assertTrue(empty.message().contains("empty"), empty.message());
  }

  @Test
  void jsonMessagesAndParamsMaps() {
    ParsedRequest ok = jsons.read(jsonRow("[{\"role\":\"user\",\"content\":\"Hi\"}]",
        Map.of("max_tokens", "5", "stop", "x")));
    assertTrue(ok.isOk(), () -> String.valueOf(ok.error()));
    assertEquals(5, ok.body().get("max_tokens").asInt());
    assertTrue(ok.rowKey().startsWith("h"), "no id column: the key is a hash of the request");

    RowError malformed = jsons.read(jsonRow("[{\"role\":\"user\",", null)).error();
    assertEquals(RowError.INVALID_JSON, malformed.code());

    RowError wrongType = jsons.read(jsonRow("[{\"role\":\"user\",\"content\":42}]", null)).error();
    assertEquals(RowError.INVALID_REQUEST, wrongType.code());
    assertTrue(wrongType.message().contains("messages[0].content"), wrongType.message());

    RowError unknown = jsons.read(jsonRow("[{\"role\":\"user\",\"content\":\"x\"}]",
        Map.of("max_token", "5"))).error();
    assertTrue(unknown.message().contains("max_token"), unknown.message());

    RowError stream = jsons.read(jsonRow("[{\"role\":\"user\",\"content\":\"x\"}]",
        Map.of("stream", "true"))).error();
    assertTrue(stream.message().contains("stream"), stream.message());
  }

  @Test
  void aWholeRequestBodyAndContentParts() {
    ParsedRequest p = jsons.read(jsonRow("{\"model\":\"any\",\"max_tokens\":3,\"messages\":[{\"role\":"
        + "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}]}",
        Map.of("max_tokens", "4")));
    assertTrue(p.isOk(), () -> String.valueOf(p.error()));
    assertEquals("a\nb", p.body().get("messages").get(0).get("content").asText());
    assertEquals(4, p.body().get("max_tokens").asInt(), "the params column wins over the body");
  }

  @Test
  void hashKeysAreStableAndDistinguishRequests() {
    ParsedRequest a = jsons.read(jsonRow("[{\"role\":\"user\",\"content\":\"Hi\"}]", null));
    ParsedRequest a2 = jsons.read(jsonRow("[{\"content\":\"Hi\",\"role\":\"user\"}]", null));
    ParsedRequest b = jsons.read(jsonRow("[{\"role\":\"user\",\"content\":\"Ho\"}]", null));
    assertEquals(a.rowKey(), a2.rowKey(), "key order inside the JSON does not matter");
    assertNotEquals(a.rowKey(), b.rowKey());
  }

  @Test
  void prompt_and_embedding_inputs() {
    StructType s = new StructType().add("prompt", DataTypes.StringType).add("n", DataTypes.LongType);
    RequestReader r = new RequestReader(s, Endpoint.COMPLETIONS, "prompt", null, null, null, null);
    ParsedRequest ok = r.read(new GenericRowWithSchema(new Object[] {"Once", 2L}, s));
    assertEquals("Once", ok.body().get("prompt").asText());
    assertEquals(2, ok.body().get("n").asInt());
    assertEquals(RowError.INVALID_REQUEST,
        r.read(new GenericRowWithSchema(new Object[] {null, null}, s)).error().code());

    StructType e = new StructType().add("input", DataTypes.createArrayType(DataTypes.StringType));
    RequestReader er = new RequestReader(e, Endpoint.EMBEDDINGS, "input", null, null, null, null);
    assertTrue(er.read(new GenericRowWithSchema(new Object[] {JsonRows.seq(List.of("a", "b"))}, e)).isOk());
    assertTrue(er.read(new GenericRowWithSchema(new Object[] {JsonRows.seq(List.of("a", ""))}, e))
        .error().message().contains("input[1]"));
  }

  @Test
  void configurationErrorsFailOnTheDriver() {
    UdfException missing = assertThrows(UdfException.class, () -> new RequestReader(JSON_SCHEMA,
        Endpoint.CHAT, "msgs", null, null, null, null));
    assertTrue(missing.getMessage().contains("msgs") && missing.getMessage().contains("messages"),
        missing.getMessage());
    assertThrows(UdfException.class, () -> new RequestReader(JSON_SCHEMA, Endpoint.CHAT, "messages",
        null, null, null, "{\"temperature\": \"hot\"}"));
    assertThrows(UdfException.class, () -> new RequestReader(JSON_SCHEMA, Endpoint.CHAT, "messages",
        null, List.of("dimensions"), null, null));
  }
}
