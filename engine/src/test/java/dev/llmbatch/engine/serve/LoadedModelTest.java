package dev.llmbatch.engine.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import dev.llmbatch.engine.api.ChatCompletion;
import dev.llmbatch.engine.api.ChatMessage;
import dev.llmbatch.engine.api.ChatRequest;
import dev.llmbatch.engine.api.CompletionRequest;
import dev.llmbatch.engine.api.RequestKey;
import dev.llmbatch.engine.api.RequestParams;
import dev.llmbatch.engine.api.TextCompletion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Serving the reference tiny Llama flavor (real Qwen3 tokenizer and chat template). */
class LoadedModelTest {
  static final ServeOptions OPTIONS = ServeOptions.DEFAULTS.withDevice("cpu", 1)
      .withBatching(4, 256, 1L << 26).withCreated(1732900000L);
  static Path flavor;
  static JsonNode goldens;
  static LoadedModel model;

  @BeforeAll
  static void load() throws IOException {
    String shared = System.getProperty("llmbatch.shared.dir");
    if (shared == null || !Files.isDirectory(Path.of(shared, "reference/llama/mlflow"))) {
      throw new IllegalStateException("Reference flavor missing: llmbatch.shared.dir=" + shared);
    }
    flavor = Path.of(shared, "reference/llama/mlflow");
    goldens = new ObjectMapper().readTree(Path.of(shared, "reference/llama/goldens.json").toFile());
    model = LoadedModel.load(flavor, OPTIONS);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  static JsonNode chatGolden(String id) {
    for (JsonNode c : goldens.get("chats")) {
      if (c.get("id").asText().equals(id)) {
        return c;
      }
    }
    throw new IllegalStateException("no chat " + id);
  }

  static List<ChatMessage> messages(JsonNode golden) {
    List<ChatMessage> out = new ArrayList<>();
    for (JsonNode m : golden.get("messages")) {
      out.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
    }
    return out;
  }

  static RequestParams greedy(int maxTokens) {
    return new RequestParams(0.0, null, null, maxTokens, null, null, null, null, null, true);
  }

  @Test
  void chatRendersTheTemplateAndGeneratesTransformersGreedyText() throws Exception {
    for (String id : List.of("c0_single_user", "c3_think_unicode_no_thinking")) {
      JsonNode g = chatGolden(id);
      Map<String, Object> kwargs = id.startsWith("c3") ? Map.of("enable_thinking", false) : null;
      ChatRequest req = ChatRequest.of(messages(g)).withParams(greedy(24));
      req = new ChatRequest(null, req.messages(), 0.0, null, null, 24, null, null, null, null,
          null, true, null, null, null, null, null, kwargs);
      ChatCompletion c = model.chat(req, RequestKey.of(id)).get();
      assertEquals(g.get("num_input_tokens").asLong(), c.usage().promptTokens(), id);
      assertEquals(24, c.usage().completionTokens());
      assertEquals(g.get("greedy").get("text_skip_special_tokens").asText(),
          c.choices().get(0).message().content(), id);
      assertEquals("length", c.choices().get(0).finishReason());
      assertEquals(RequestKey.of(id).id("chatcmpl-"), c.id());
      assertEquals(1732900000L, c.created());
      assertEquals("oracle-fixtures/tiny-random-llama", c.model());
    }
  }

  @Test
  void completionsTokenizeWithSpecialTokensAndNChoicesSumUsage() throws Exception {
    JsonNode p = goldens.get("prompts").get(1);
    CompletionRequest req = CompletionRequest.of(p.get("text").asText()).withParams(
        new RequestParams(0.8, null, null, 6, null, 3, 99L, null, null, true));
    TextCompletion t = model.complete(req, RequestKey.of("k")).get();
    assertEquals(p.get("num_input_tokens").asLong(), t.usage().promptTokens());
    assertEquals(3, t.choices().size());
    assertEquals(18, t.usage().completionTokens());
    TextCompletion again = model.complete(req, RequestKey.of("other-key")).get();
    assertEquals(t.choices().get(0).text(), again.choices().get(0).text(), "the request seed wins");
    assertNotEquals(t.id(), again.id());
  }

  @Test
  void perRequestErrorsCarryOpenAiCodes() {
    ChatRequest tooLong = ChatRequest.of(List.of(new ChatMessage("user", "hi")))
        .withParams(greedy(10_000));
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> model.chat(tooLong, RequestKey.of("x")).get());
    assertEquals(ApiError.CONTEXT_LENGTH_EXCEEDED, ApiException.errorOf(e).code());
    // chat_template_kwargs cannot replace the messages themselves.
    ChatRequest sneaky = new ChatRequest(null, List.of(new ChatMessage("user", "hi")), null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null,
        Map.of("messages", List.of()));
    e = assertThrows(ExecutionException.class, () -> model.chat(sneaky, RequestKey.of("y")).get());
    assertEquals(ApiError.INVALID_REQUEST, ApiException.errorOf(e).code(),
        ApiException.errorOf(e).message());
  }

  @Test
  void serveDispatchesByUrlAndFailsBadOnesWithoutThrowing() throws Exception {
    ObjectMapper json = new ObjectMapper();
    ObjectNode completion = json.createObjectNode().put("prompt", "Hello").put("max_tokens", 2)
        .put("temperature", 0);
    Object served = model.serve("/v1/completions", completion, RequestKey.of("u1")).get();
    TextCompletion direct = model.complete(CompletionRequest.of("Hello")
        .withParams(greedy(2)), RequestKey.of("u1")).get();
    assertEquals(direct.choices().get(0).text(),
        ((TextCompletion) served).choices().get(0).text(), "the same request either way");
    ObjectNode chat = json.createObjectNode().put("max_tokens", 1);
    chat.putArray("messages").addObject().put("role", "user").put("content", "hi");
    assertTrue(model.serve("/v1/chat/completions", chat, RequestKey.of("u2")).get()
        instanceof ChatCompletion);
    // an unknown URL, a body of the wrong shape and embeddings on a generative model: each a
    // failed future with an OpenAI error, never an exception out of serve
    for (var bad : List.of(Map.entry("/v1/images", (JsonNode) completion),
        Map.entry("/v1/completions", (JsonNode) json.createObjectNode().put("prompt", 3.5)
            .put("max_tokens", "many")),
        Map.entry("/v1/embeddings", (JsonNode) json.createObjectNode().put("input", "x")))) {
      CompletableFuture<?> f = model.serve(bad.getKey(), bad.getValue(), RequestKey.of("b"));
      ExecutionException e = assertThrows(ExecutionException.class, f::get, bad.getKey());
      assertEquals(ApiError.INVALID_REQUEST, ApiException.errorOf(e).code(),
          ApiException.errorOf(e).message());
    }
  }

  /** A copy of the reference flavor with another MLmodel / tokenizer_config. */
  static Path variant(Path dir, String mlmodelExtra, boolean dropTemplate) throws IOException {
    Path model = Files.createDirectories(dir.resolve("model"));
    for (String f : List.of("config.json", "generation_config.json", "model.safetensors")) {
      Files.copy(flavor.resolve("model").resolve(f), model.resolve(f));
    }
    Path tok = Files.createDirectories(dir.resolve("components/tokenizer"));
    for (String f : List.of("tokenizer.json", "special_tokens_map.json")) {
      Files.copy(flavor.resolve("components/tokenizer").resolve(f), tok.resolve(f));
    }
    ObjectMapper om = new ObjectMapper();
    ObjectNode tc = (ObjectNode) om.readTree(
        flavor.resolve("components/tokenizer/tokenizer_config.json").toFile());
    if (dropTemplate) {
      tc.remove("chat_template");
    }
    om.writeValue(tok.resolve("tokenizer_config.json").toFile(), tc);
    Files.writeString(dir.resolve("MLmodel"),
        Files.readString(flavor.resolve("MLmodel")) + mlmodelExtra);
    return dir;
  }

  @Test
  void promptTemplateAndPrecedenceAsMlflowAppliesThem(@TempDir Path dir) throws Exception {
    // metadata gets prompt_template; python_function gets model_config (YAML merge of keys).
    String mlmodel = Files.readString(flavor.resolve("MLmodel"))
        .replace("metadata:\n  task: llm/v1/chat\n",
            "metadata:\n  task: llm/v1/chat\n  prompt_template: 'Q: {prompt} {{A}}:'\n")
        .replace("    loader_module: mlflow.transformers\n", "    loader_module: mlflow.transformers\n"
            + "    model_config:\n      max_tokens: 5\n      temperature: 0.0\n"
            + "      ignore_eos: true\n");
    variant(dir, "", false);
    Files.writeString(dir.resolve("MLmodel"), mlmodel);
    try (LoadedModel m = LoadedModel.load(dir, OPTIONS.withJobDefaults(new RequestParams(
        null, null, null, 4, null, null, null, null, null, null)))) {
      TextCompletion t = m.complete(CompletionRequest.of("hi"), RequestKey.of("a")).get();
      int[] expected = m.tokenizer().encode("Q: hi {A}:", true);
      assertEquals(expected.length, t.usage().promptTokens(), "prompt_template applied");
      assertEquals(4, t.usage().completionTokens(), "job beats model_config");
      TextCompletion r = m.complete(CompletionRequest.of("hi").withParams(greedy(2)),
          RequestKey.of("a")).get();
      assertEquals(2, r.usage().completionTokens(), "request beats job");
      // Greedy from model_config: same text for another key.
      TextCompletion other = m.complete(CompletionRequest.of("hi"), RequestKey.of("b")).get();
      assertEquals(t.choices().get(0).text(), other.choices().get(0).text());
    }
  }

  @Test
  void aModelWithoutChatTemplateFailsChatRequestsOnly(@TempDir Path dir) throws Exception {
    try (LoadedModel m = LoadedModel.load(variant(dir, "", true), OPTIONS)) {
      CompletableFuture<ChatCompletion> chat = m.chat(
          ChatRequest.of(List.of(new ChatMessage("user", "hi"))), RequestKey.of("a"));
      ExecutionException e = assertThrows(ExecutionException.class, chat::get);
      ApiError err = ApiException.errorOf(e);
      assertEquals(ApiError.INVALID_REQUEST, err.code());
      assertTrue(err.message().contains("chat template"), err.message());
      TextCompletion t = m.complete(CompletionRequest.of("hi").withParams(greedy(2)),
          RequestKey.of("b")).get();
      assertEquals(2, t.usage().completionTokens());
      assertNull(t.choices().get(0).logprobs());
    }
  }
}
