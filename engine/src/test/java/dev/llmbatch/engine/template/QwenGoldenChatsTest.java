package dev.llmbatch.engine.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real Qwen3 template against the chats transformers rendered for the reference goldens
 * (../shared/reference/llama): byte-exact, including enable_thinking=false from
 * chat_template_kwargs.
 */
class QwenGoldenChatsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static JsonNode goldens;
  private static JsonNode tokenizerConfig;
  private static ChatTemplate qwen3;

  @BeforeAll
  static void load() throws IOException {
    String shared = System.getProperty("llmbatch.shared.dir");
    if (shared == null) {
      throw new IllegalStateException("llmbatch.shared.dir is not set: run through Maven");
    }
    Path llama = Path.of(shared, "reference", "llama");
    if (!Files.isRegularFile(llama.resolve("goldens.json"))) {
      throw new IllegalStateException("Missing reference fixture " + llama + "/goldens.json");
    }
    goldens = JSON.readTree(llama.resolve("goldens.json").toFile());
    tokenizerConfig =
        JSON.readTree(llama.resolve("mlflow/components/tokenizer/tokenizer_config.json").toFile());
    qwen3 = Chats.compile(tokenizerConfig.path("chat_template").asText());
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(JsonNode node) {
    return JSON.convertValue(node, Map.class);
  }

  @Test
  void goldenChatsRenderExactly() {
    assertTrue(goldens.path("chats").size() >= 4);
    for (JsonNode chat : goldens.path("chats")) {
      List<Map<String, Object>> messages = new ArrayList<>();
      chat.path("messages").forEach(m -> messages.add(map(m)));
      Map<String, Object> kwargs = map(chat.path("template_kwargs"));
      boolean generation = (Boolean) kwargs.remove("add_generation_prompt");
      // As transformers does: special tokens from tokenizer_config, then the request's kwargs.
      Map<String, Object> variables = Chats.vars(
          "bos_token", tokenizerConfig.path("bos_token").isNull() ? null
              : tokenizerConfig.path("bos_token").asText(),
          "eos_token", tokenizerConfig.path("eos_token").asText());
      variables.putAll(kwargs);
      assertEquals(chat.path("rendered").asText(), qwen3.render(messages, generation, variables),
          chat.path("id").asText());
    }
  }

  @Test
  void thinkingIsOnUnlessDisabled() {
    List<Map<String, Object>> user = List.of(Chats.msg("user", "Hi"));
    // enable_thinking undefined: the "is defined and is false" guard fails, no empty think block.
    assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        qwen3.render(user, true, Map.of()));
    // enable_thinking=true is defined but not false: same.
    assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        qwen3.render(user, true, Map.of("enable_thinking", true)));
    assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
        qwen3.render(user, true, Map.of("enable_thinking", false)));
  }

  @Test
  void toolsAndToolResponses() {
    List<Map<String, Object>> chat = List.of(
        Chats.msg("system", "Be brief."),
        Chats.msg("user", "Weather in Paris?"),
        Chats.weatherCall(""),
        Chats.msg("tool", "{\"temp\": 21.5}"),
        Chats.msg("tool", "sunny"));
    // tools is truthy: the system turn is the system content + "\n\n" + the tools block, each tool
    // as tojson (json.dumps: ", " and ": " separators). The assistant turn has empty content, so
    // "<|im_start|>assistant\n" + "" and, loop.first with empty content, no "\n" before
    // <tool_call>; arguments is a mapping, so tojson. Consecutive tool messages share one user
    // turn: opened by the first (previous role is not tool), closed by the last.
    String expected = "<|im_start|>system\nBe brief.\n\n# Tools\n\nYou may call one or more"
        + " functions to assist with the user query.\n\nYou are provided with function signatures"
        + " within <tools></tools> XML tags:\n<tools>\n{\"type\": \"function\", \"function\":"
        + " {\"name\": \"get_weather\", \"description\": \"Get the weather\", \"parameters\":"
        + " {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}},"
        + " \"required\": [\"city\"]}}}\n</tools>\n\nFor each function call, return a json object"
        + " with function name and arguments within <tool_call></tool_call> XML tags:\n"
        + "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n"
        + "</tool_call><|im_end|>\n"
        + "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
        + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\":"
        + " {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"
        + "<|im_start|>user\n<tool_response>\n{\"temp\": 21.5}\n</tool_response>\n"
        + "<tool_response>\nsunny\n</tool_response><|im_end|>\n"
        + "<|im_start|>assistant\n";
    assertEquals(expected, qwen3.render(chat, true, Map.of("tools", List.of(Chats.weatherTool()))));
  }

  @Test
  void reasoningOfTheLastTurnIsKept() {
    // The last user message is index 0, so the assistant turn (index 1 > last_query_index) is
    // rendered with its reasoning: content split at </think>, both parts stripped of "\n".
    List<Map<String, Object>> chat = List.of(
        Chats.msg("user", "hi"),
        Chats.msg("assistant", "<think>\nhmm\n</think>\n\nHello!"));
    assertEquals("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\nhmm\n</think>"
        + "\n\nHello!<|im_end|>\n", qwen3.render(chat, false, Map.of()));
  }
}
