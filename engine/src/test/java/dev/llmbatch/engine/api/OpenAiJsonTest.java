package dev.llmbatch.engine.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OpenAiJsonTest {

  private static ChatRequest chat(String json) {
    return OpenAiJson.read(OpenAiJson.parseTree(json), ChatRequest.class);
  }

  @Test
  void chatRequestReadsEveryParameter() {
    ChatRequest r = chat("""
        {"model":"any","messages":[{"role":"system","content":"Be brief."},
          {"role":"user","content":"Hi","name":"ann"}],
         "temperature":0.5,"top_p":0.9,"top_k":40,"max_tokens":12,"stop":"END","n":2,"seed":7,
         "presence_penalty":0.1,"frequency_penalty":0.2,"ignore_eos":true,"stream":false,
         "chat_template_kwargs":{"enable_thinking":false},"user":"ignored"}""");
    assertEquals(2, r.messages().size());
    assertEquals("ann", r.messages().get(1).name());
    assertEquals(List.of("END"), r.stop());
    RequestParams p = r.params();
    assertEquals(0.5, p.temperature());
    assertEquals(0.9, p.topP());
    assertEquals(40, p.topK());
    assertEquals(12, p.maxTokens());
    assertEquals(2, p.n());
    assertEquals(7L, p.seed());
    assertEquals(0.1, p.presencePenalty());
    assertEquals(0.2, p.frequencyPenalty());
    assertEquals(Boolean.TRUE, p.ignoreEos());
    assertEquals(Map.of("enable_thinking", false), r.chatTemplateKwargs());
  }

  @Test
  void stopMayBeAnArrayAndMaxCompletionTokensIsAnAlias() {
    ChatRequest r = chat("""
        {"messages":[{"role":"user","content":"Hi"}],"stop":["a","b"],"max_completion_tokens":3}""");
    assertEquals(List.of("a", "b"), r.stop());
    assertEquals(3, r.maxTokens());
    assertNull(r.temperature());
  }

  @Test
  void badRequestsAreInvalidRequestErrorsNamingTheField() {
    ApiException e = assertThrows(ApiException.class,
        () -> chat("{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}"));
    assertEquals(ApiError.INVALID_REQUEST, e.error().code());
    assertTrue(e.getMessage().contains("messages[0].role"), e.getMessage());

    e = assertThrows(ApiException.class,
        () -> chat("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}"));
    assertEquals(ApiError.INVALID_REQUEST, e.error().code());
    assertTrue(e.getMessage().contains("temperature"), e.getMessage());

    e = assertThrows(ApiException.class, () -> chat("{\"messages\":[]}"));
    assertEquals(ApiError.INVALID_REQUEST, e.error().code());

    e = assertThrows(ApiException.class, () -> chat(
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"1\",\"2\",\"3\",\"4\",\"5\"]}"));
    assertTrue(e.getMessage().contains("stop"), e.getMessage());

    e = assertThrows(ApiException.class, () -> chat(
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":true}"));
    assertTrue(e.getMessage().contains("stream"), e.getMessage());

    e = assertThrows(ApiException.class, () -> chat(
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_p\":0}"));
    assertTrue(e.getMessage().contains("top_p"), e.getMessage());

    e = assertThrows(ApiException.class, () -> OpenAiJson.parseTree("{\"messages\":"));
    assertEquals(ApiError.INVALID_JSON, e.error().code());
  }

  @Test
  void chatCompletionSerialisesFieldForFieldAsTheSpec() {
    ChatCompletion c = ChatCompletion.of("chatcmpl-abc", 1732900000L, "tiny", "fp-1",
        List.of(ChatChoice.of(0, "Hello", FinishReason.STOP)), Usage.of(22, 9));
    assertEquals("{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion\",\"created\":1732900000,"
        + "\"model\":\"tiny\",\"system_fingerprint\":\"fp-1\",\"choices\":[{\"index\":0,"
        + "\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"logprobs\":null,"
        + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":22,\"completion_tokens\":9,"
        + "\"total_tokens\":31}}", OpenAiJson.write(c));
  }

  @Test
  void textCompletionAndEmbeddingsSerialiseAsTheSpec() {
    TextCompletion t = TextCompletion.of("cmpl-1", 5L, "m", "fp", List.of(
        TextChoice.of(0, "x", FinishReason.LENGTH)), Usage.of(1, 2));
    assertEquals("{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":5,\"model\":\"m\","
        + "\"system_fingerprint\":\"fp\",\"choices\":[{\"index\":0,\"text\":\"x\","
        + "\"logprobs\":null,\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":1,"
        + "\"completion_tokens\":2,\"total_tokens\":3}}", OpenAiJson.write(t));
    EmbeddingResponse e = EmbeddingResponse.of(
        List.of(Embedding.of(0, new float[] {0.5f, -0.25f})), "bert", 8);
    assertEquals("{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
        + "\"embedding\":[0.5,-0.25]}],\"model\":\"bert\",\"usage\":{\"prompt_tokens\":8,"
        + "\"total_tokens\":8}}", OpenAiJson.write(e));
  }

  @Test
  void embeddingInputIsAStringOrAnArray() {
    EmbeddingRequest one = OpenAiJson.read(OpenAiJson.parseTree("{\"input\":\"a\"}"),
        EmbeddingRequest.class);
    assertEquals(List.of("a"), one.input());
    EmbeddingRequest two = OpenAiJson.read(OpenAiJson.parseTree(
        "{\"input\":[\"a\",\"b\"],\"dimensions\":4,\"encoding_format\":\"float\"}"),
        EmbeddingRequest.class);
    assertEquals(List.of("a", "b"), two.input());
    assertEquals(4, two.dimensions());
  }

  @Test
  void batchLinesRoundTrip() {
    BatchRequestLine in = OpenAiJson.read(OpenAiJson.parseTree(
        "{\"custom_id\":\"request-1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
            + "\"body\":{\"model\":\"any\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}}"),
        BatchRequestLine.class);
    assertEquals("request-1", in.customId());
    assertEquals(BatchRequestLine.CHAT_URL, in.url());
    RequestKey key = RequestKey.of(in.customId());
    String ok = OpenAiJson.write(BatchResponseLine.ok(key, Map.of("x", 1)));
    assertEquals("{\"id\":\"" + key.id("batch_req_") + "\",\"custom_id\":\"request-1\","
        + "\"response\":{\"status_code\":200,\"request_id\":\"" + key.id("req_") + "\","
        + "\"body\":{\"x\":1}},\"error\":null}", ok);
    String bad = OpenAiJson.write(BatchResponseLine.failed(key, ApiError.invalidRequest("no")));
    assertTrue(bad.endsWith("\"response\":null,\"error\":{\"code\":\"invalid_request_error\","
        + "\"message\":\"no\"}}"), bad);
  }
}
