package dev.llmbatch.udf.rows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

class JsonRowsTest {
  @Test
  void responseJsonFillsTheExactSchema() throws Exception {
    JsonNode json = JsonRows.MAPPER.readTree("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","
        + "\"created\":17,\"model\":\"m\",\"system_fingerprint\":null,\"choices\":[{\"index\":0,"
        + "\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"logprobs\":null,"
        + "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,"
        + "\"total_tokens\":5},\"extra\":1}");
    Row r = (Row) JsonRows.fromJson(json, Schemas.CHAT_RESPONSE);
    assertEquals(Schemas.CHAT_RESPONSE.fields().length, r.length());
    assertEquals("chatcmpl-1", r.getString(0));
    assertEquals(17L, r.getLong(2));
    assertNull(r.get(4));
    Row choice = (Row) r.getSeq(5).head();
    assertEquals(0, choice.getInt(0));
    assertEquals("hi", choice.getStruct(1).getString(1));
    assertEquals(5L, r.getStruct(6).getLong(2));
  }

  @Test
  void embeddingsAreFloatArrays() throws Exception {
    JsonNode json = JsonRows.MAPPER.readTree("{\"object\":\"list\",\"data\":[{\"object\":\"embedding\","
        + "\"index\":0,\"embedding\":[0.5,-0.25]}],\"model\":\"e\",\"usage\":{\"prompt_tokens\":2,"
        + "\"total_tokens\":2}}");
    Row r = (Row) JsonRows.fromJson(json, Schemas.EMBEDDING_RESPONSE);
    Row d = (Row) r.getSeq(1).head();
    assertEquals(List.of(0.5f, -0.25f), scala.jdk.javaapi.CollectionConverters.asJava(d.<Float>getSeq(2)));
  }

  @Test
  void canonicalSortsKeysAtEveryLevel() throws Exception {
    assertEquals("{\"a\":[{\"b\":1,\"c\":2}],\"z\":0}",
        JsonRows.canonical(JsonRows.MAPPER.readTree("{\"z\":0,\"a\":[{\"c\":2,\"b\":1}]}")));
  }
}
