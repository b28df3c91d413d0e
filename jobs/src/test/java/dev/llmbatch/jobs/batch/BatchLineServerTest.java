package dev.llmbatch.jobs.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.engine.api.OpenAiJson;
import dev.llmbatch.flavor.sample.SampleModels;
import dev.llmbatch.udf.ModelHandle;
import dev.llmbatch.udf.executor.ExecutorModels;
import dev.llmbatch.udf.executor.ModelService;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Batch API lines served by a real (tiny, random) logged chat model through the executor registry. */
class BatchLineServerTest {
  @TempDir static Path dir;
  static ModelService model;

  @BeforeAll
  static void load() {
    Path root = SampleModels.writePipelineChatModel(dir.resolve("chat"), 7);
    model = ExecutorModels.acquire(new ModelHandle(root.toString(), "cpu", "auto",
        java.util.Map.of())).service();
  }

  @AfterAll
  static void release() {
    ExecutorModels.releaseAll();
  }

  private static List<JsonNode> serve(List<String> lines, int window, ObjectNode defaults) {
    BatchLineServer server = new BatchLineServer(model::submit, 3, window, defaults, 1_700_000_000L);
    List<JsonNode> out = new ArrayList<>();
    server.serve(lines.iterator()).forEachRemaining(s -> out.add(OpenAiJson.parseTree(s.json())));
    return out;
  }

  private static String chat(String id, String text, String extra) {
    return "{\"custom_id\":\"" + id + "\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
        + "\"body\":{\"model\":\"any\",\"messages\":[{\"role\":\"user\",\"content\":\"" + text
        + "\"}]" + extra + "}}";
  }

  @Test
  void mixedLinesComeBackInOrderWithExactlyOneOfResponseAndError() {
    List<String> lines = List.of(
        chat("c-1", "hello world", ",\"max_tokens\":4"),
        "",
        "{\"custom_id\":\"p-1\",\"method\":\"POST\",\"url\":\"/v1/completions\","
            + "\"body\":{\"model\":\"any\",\"prompt\":\"the world is\",\"max_tokens\":3}}",
        "{\"custom_id\":\"bad-url\",\"method\":\"POST\",\"url\":\"/v1/images\",\"body\":{}}",
        "{not json",
        chat("c-2", "hello", ",\"temperature\":5"),
        "{\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{\"prompt\":\"x\"}}");
    List<JsonNode> out = serve(lines, 2, null);

    assertEquals(6, out.size()); // the blank line is skipped
    List<String> ids = new ArrayList<>();
    out.forEach(o -> ids.add(o.get("custom_id").isNull() ? null : o.get("custom_id").asText()));
    assertEquals(java.util.Arrays.asList("c-1", "p-1", "bad-url", null, "c-2", null), ids);
    for (JsonNode o : out) {
      assertTrue(o.has("response") && o.has("error"), o.toString());
      assertTrue(o.get("response").isNull() != o.get("error").isNull(), o.toString());
      assertTrue(o.get("id").asText().startsWith("batch_req_"), o.toString());
    }
    JsonNode c1 = out.get(0).get("response");
    assertEquals(200, c1.get("status_code").asInt());
    assertEquals("chat.completion", c1.at("/body/object").asText());
    assertEquals(1_700_000_000L, c1.at("/body/created").asLong()); // the job's start, not the load's
    assertTrue(c1.at("/body/usage/completion_tokens").asLong() <= 4);
    assertEquals("text_completion", out.get(1).at("/response/body/object").asText());
    assertTrue(out.get(1).at("/response/body/usage/completion_tokens").asLong() <= 3);
    assertEquals("invalid_request_error", out.get(2).at("/error/code").asText());
    assertTrue(out.get(2).at("/error/message").asText().contains("/v1/images"));
    assertEquals("invalid_json", out.get(3).at("/error/code").asText());
    assertEquals("invalid_request_error", out.get(4).at("/error/code").asText());
    assertTrue(out.get(4).at("/error/message").asText().contains("temperature"));
    assertTrue(out.get(5).at("/error/message").asText().contains("custom_id"));
  }

  @Test
  void jobDefaultsFillOnlyWhatALineLeavesUnsetAndRerunsWriteTheSameBytes() {
    ObjectNode defaults = OpenAiJson.mapper().createObjectNode().put("max_tokens", 2)
        .put("temperature", 0.9);
    List<String> lines = List.of(chat("a", "hello world", ""), chat("b", "hello world",
        ",\"max_tokens\":5,\"temperature\":0"));
    List<JsonNode> first = serve(lines, 1, defaults);
    List<JsonNode> again = serve(lines, 2, defaults);
    assertEquals(first, again); // same key, same seed, same created: same output
    assertTrue(first.get(0).at("/response/body/usage/completion_tokens").asLong() <= 2);
    assertNull(first.get(0).get("error").textValue());
    assertEquals(first.get(0).at("/response/body/id").asText(),
        again.get(0).at("/response/body/id").asText());
  }
}
