package dev.llmbatch.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.engine.testing.TinyDecoders;
import dev.llmbatch.jobs.LlmBatchCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code llm-batch predict} end to end on a tiny chat flavor, good and bad lines mixed. */
class PredictCommandTest {
  @TempDir static Path tmp;
  static Path model;
  static final ObjectMapper JSON = new ObjectMapper();

  static final String LINES = String.join("\n",
      "{\"custom_id\":\"chat-1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
          + "\"body\":{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
          + "\"max_tokens\":5,\"temperature\":0,\"ignore_eos\":true}}",
      "{\"custom_id\":\"cmpl-1\",\"method\":\"POST\",\"url\":\"/v1/completions\","
          + "\"body\":{\"prompt\":\"Once upon\",\"max_tokens\":3,\"n\":2,\"seed\":1,"
          + "\"ignore_eos\":true}}",
      "{\"custom_id\":\"broken\", this is not json",
      "",
      "{\"custom_id\":\"bad-url\",\"method\":\"POST\",\"url\":\"/v1/images\",\"body\":{}}",
      "{\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{\"prompt\":\"x\"}}",
      "{\"custom_id\":\"bad-type\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
          + "\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}}",
      "{\"custom_id\":\"chat-1\",\"method\":\"POST\",\"url\":\"/v1/completions\","
          + "\"body\":{\"prompt\":\"dup\"}}",
      "{\"custom_id\":\"too-long\",\"method\":\"POST\",\"url\":\"/v1/completions\","
          + "\"body\":{\"prompt\":\"x\",\"max_tokens\":100000}}",
      "{\"custom_id\":\"emb\",\"method\":\"POST\",\"url\":\"/v1/embeddings\","
          + "\"body\":{\"input\":\"x\"}}",
      "{\"custom_id\":\"chat-2\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
          + "\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\"Bye\"}],\"stop\":\"zz\"}}");

  @BeforeAll
  static void writeModel() {
    model = TinyDecoders.chatFlavor(tmp.resolve("model"), "llama");
  }

  static int run(String... args) {
    CommandLine cmd = LlmBatchCli.commandLine();
    StringWriter err = new StringWriter();
    cmd.setErr(new PrintWriter(err));
    int code = cmd.execute(args);
    assertEquals(0, code, err.toString());
    return code;
  }

  static List<JsonNode> readOutput(Path out) throws Exception {
    List<JsonNode> lines = new ArrayList<>();
    for (String l : Files.readAllLines(out)) {
      lines.add(JSON.readTree(l));
    }
    return lines;
  }

  @Test
  void oneResultLinePerRequestLineInOrderWithPerLineErrors() throws Exception {
    Path in = Files.writeString(tmp.resolve("requests.jsonl"), LINES + "\n");
    Path out = tmp.resolve("results.jsonl");
    run("predict", "--model", model.toString(), "--input", in.toString(), "--output",
        out.toString(), "--threads", "1", "--max-tokens", "4", "--temperature", "0");
    List<JsonNode> res = readOutput(out);
    assertEquals(10, res.size(), "11 lines, one blank");
    String[] ids = {"chat-1", "cmpl-1", null, "bad-url", null, "bad-type", "chat-1", "too-long",
        "emb", "chat-2"};
    String[] errors = {null, null, "invalid_json", "invalid_request_error",
        "invalid_request_error", "invalid_request_error", "invalid_request_error",
        "context_length_exceeded", "invalid_request_error", null};
    for (int i = 0; i < ids.length; i++) {
      JsonNode r = res.get(i);
      assertEquals(ids[i], r.get("custom_id").isNull() ? null : r.get("custom_id").asText(),
          "line " + i);
      if (errors[i] == null) {
        assertTrue(r.get("error").isNull(), r.toString());
        assertEquals(200, r.get("response").get("status_code").asInt());
        assertTrue(r.get("id").asText().startsWith("batch_req_"));
      } else {
        assertTrue(r.get("response").isNull(), r.toString());
        assertEquals(errors[i], r.get("error").get("code").asText(), r.toString());
      }
    }
    JsonNode chat = res.get(0).get("response").get("body");
    assertEquals("chat.completion", chat.get("object").asText());
    assertEquals(5, chat.get("usage").get("completion_tokens").asInt(), "request beats job");
    assertEquals("length", chat.get("choices").get(0).get("finish_reason").asText());
    JsonNode cmpl = res.get(1).get("response").get("body");
    assertEquals("text_completion", cmpl.get("object").asText());
    assertEquals(2, cmpl.get("choices").size());
    assertEquals(6, cmpl.get("usage").get("completion_tokens").asInt());
    JsonNode chat2 = res.get(9).get("response").get("body");
    assertTrue(chat2.get("usage").get("completion_tokens").asInt() <= 4, "job --max-tokens 4");

    // Rerun: the output already answers every line, so nothing is appended.
    byte[] first = Files.readAllBytes(out);
    run("predict", "--model", model.toString(), "--input", in.toString(), "--output",
        out.toString(), "--threads", "1", "--max-tokens", "4", "--temperature", "0");
    assertEquals(new String(first), Files.readString(out));
  }

  @Test
  void dtypeReachesTheModelFp16IsRefusedOnCpuAndTheSummaryNamesTheDtypeUsed() throws Exception {
    Path bert = Path.of(System.getProperty("llmbatch.shared.dir"), "reference/bert-tiny/mlflow");
    assertTrue(Files.isRegularFile(bert.resolve("MLmodel")), "reference bert-tiny missing: " + bert);
    Path in = Files.writeString(tmp.resolve("dtype.jsonl"), "{\"custom_id\":\"e1\","
        + "\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{\"input\":\"hi\"}}\n");
    for (String dtype : List.of("fp16", "fp32")) {
      CommandLine cmd = LlmBatchCli.commandLine();
      StringWriter err = new StringWriter();
      cmd.setErr(new PrintWriter(err));
      int code = cmd.execute("predict", "--model", bert.toString(), "--input", in.toString(),
          "--output", tmp.resolve("dtype-" + dtype + ".jsonl").toString(), "--threads", "1",
          "--dtype", dtype);
      if (dtype.equals("fp16")) {
        assertTrue(code != 0, err.toString());
        assertTrue(err.toString().contains("Cannot compute in fp16 on cpu: dtype=fp16"),
            err.toString());
      } else {
        assertEquals(0, code, err.toString());
        assertTrue(err.toString().contains("on cpu in FP32"), err.toString());
      }
    }
  }

  @Test
  void embeddingsLinesOnAnEncoderFlavor() throws Exception {
    Path bert = Path.of(System.getProperty("llmbatch.shared.dir"), "reference/bert-tiny/mlflow");
    assertTrue(Files.isRegularFile(bert.resolve("MLmodel")), "reference bert-tiny missing: " + bert);
    Path in = Files.writeString(tmp.resolve("emb.jsonl"), String.join("\n",
        "{\"custom_id\":\"e1\",\"method\":\"POST\",\"url\":\"/v1/embeddings\","
            + "\"body\":{\"input\":[\"A man is eating food.\",\"hello\"]}}",
        "{\"custom_id\":\"e2\",\"method\":\"POST\",\"url\":\"/v1/embeddings\","
            + "\"body\":{\"input\":\"\"}}",
        "{\"custom_id\":\"c1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
            + "\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}}") + "\n");
    Path out = tmp.resolve("emb-out.jsonl");
    run("predict", "--model", bert.toString(), "--input", in.toString(), "--output",
        out.toString(), "--threads", "1");
    List<JsonNode> res = readOutput(out);
    assertEquals(3, res.size());
    JsonNode body = res.get(0).get("response").get("body");
    assertEquals("list", body.get("object").asText());
    assertEquals(2, body.get("data").size());
    assertEquals(1, body.get("data").get(1).get("index").asInt());
    assertEquals(64, body.get("data").get(0).get("embedding").size());
    assertEquals("invalid_request_error", res.get(1).get("error").get("code").asText());
    assertEquals("invalid_request_error", res.get(2).get("error").get("code").asText());
  }

  @Test
  void aKilledRunResumesWhereItStopped() throws Exception {
    Path in = Files.writeString(tmp.resolve("resume.jsonl"), LINES + "\n");
    Path out = tmp.resolve("resume-out.jsonl");
    run("predict", "--model", model.toString(), "--input", in.toString(), "--output",
        out.toString(), "--threads", "1", "--max-tokens", "4", "--temperature", "0");
    List<String> full = Files.readAllLines(out);
    // Keep three lines and half of the fourth, as a killed run would.
    String partial = String.join("\n", full.subList(0, 3)) + "\n" + full.get(3).substring(0, 10);
    Files.writeString(out, partial);
    run("predict", "--model", model.toString(), "--input", in.toString(), "--output",
        out.toString(), "--threads", "1", "--max-tokens", "4", "--temperature", "0");
    List<String> resumed = Files.readAllLines(out);
    assertEquals(full.size(), resumed.size());
    for (int i = 0; i < full.size(); i++) {
      JsonNode a = JSON.readTree(full.get(i));
      JsonNode b = JSON.readTree(resumed.get(i));
      assertEquals(a.get("custom_id"), b.get("custom_id"));
      assertEquals(a.get("error"), b.get("error"));
      if (!a.get("response").isNull()) {
        assertEquals(a.get("response").get("body").get("choices"),
            b.get("response").get("body").get("choices"), "deterministic results, line " + i);
      }
    }
  }
}
