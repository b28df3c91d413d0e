package dev.llmbatch.engine.template;

import static dev.llmbatch.engine.template.Chats.msg;
import static dev.llmbatch.engine.template.Chats.render;
import static dev.llmbatch.engine.template.Chats.resource;
import static dev.llmbatch.engine.template.Chats.vars;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Real chat templates (test resources, sources in templates/SOURCES.md) rendered as Python's
 * Jinja2 renders them under transformers (trim_blocks, lstrip_blocks, no trailing newline kept).
 * Each expected string is derived from the template text; the comment says how.
 */
class RealTemplatesTest {
  private static final List<Map<String, Object>> SYSTEM_USER =
      List.of(msg("system", "You are a concise assistant."), msg("user", "What is 2+2?"));
  private static final List<Map<String, Object>> MULTI_TURN = List.of(
      msg("user", "Hi!"), msg("assistant", "Hello! How can I help?"), msg("user", "Tell me a joke."));
  private static final Map<String, Object> LLAMA =
      vars("bos_token", "<|begin_of_text|>", "eos_token", "<|eot_id|>");

  // ---- Llama 3.1 ----

  @Test
  void llama31SystemAndUser() {
    // bos_token; every statement is {%- ... %} or {{- ... }}, so the template's own newlines and
    // indentation vanish. The system message is taken out (|trim) and printed after the fixed
    // "Cutting Knowledge Date" preamble with date_string's default "26 Jul 2024"; tools is none,
    // so no "Environment: ipython". Each remaining message: header, "\n\n", content|trim,
    // <|eot_id|>; then the assistant header for add_generation_prompt.
    assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
            + "You are a concise assistant.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n",
        render(resource("llama-3.1-instruct.jinja"), SYSTEM_USER, true, LLAMA));
  }

  @Test
  void llama31MultiTurnWithoutGenerationPrompt() {
    // No system message: system_message = "", yet the system turn with the preamble is always
    // printed (then "" and <|eot_id|>). Without add_generation_prompt the output ends after the
    // last user turn's <|eot_id|>.
    assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\nHello! How can I help?<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>",
        render(resource("llama-3.1-instruct.jinja"), MULTI_TURN, false, LLAMA));
  }

  @Test
  void llama31ToolsGoInTheFirstUserMessage() {
    // tools given: "Environment: ipython\n" in the system turn; tools_in_user_message defaults
    // to true, so the first user message (trimmed: the spaces go) is preceded by the instructions
    // and each tool as tojson(indent=4) — json.dumps with indent 4: "," item separator, one
    // key per line — followed by "\n\n".
    String tool = "{\n    \"type\": \"function\",\n    \"function\": {\n"
        + "        \"name\": \"get_weather\",\n        \"description\": \"Get the weather\",\n"
        + "        \"parameters\": {\n            \"type\": \"object\",\n"
        + "            \"properties\": {\n                \"city\": {\n"
        + "                    \"type\": \"string\"\n                }\n            },\n"
        + "            \"required\": [\n                \"city\"\n            ]\n"
        + "        }\n    }\n}";
    assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Environment: ipython\nCutting Knowledge Date: December 2023\n"
            + "Today Date: 26 Jul 2024\n\n<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\n"
            + "Given the following functions, please respond with a JSON for a function call with"
            + " its proper arguments that best answers the given prompt.\n\n"
            + "Respond in the format {\"name\": function name, \"parameters\": dictionary of"
            + " argument name and its value}.Do not use variables.\n\n" + tool + "\n\n"
            + "Weather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        render(resource("llama-3.1-instruct.jinja"), List.of(msg("user", "  Weather in Paris?  ")),
            true, vars("bos_token", "<|begin_of_text|>", "tools", List.of(Chats.weatherTool()))));
  }

  @Test
  void llama31ToolCallAndToolResult() {
    // 'tool_calls' in message: the single call prints {"name": ..., "parameters": arguments|tojson}
    // then <|eot_id|>. The tool message's content is a str, which Jinja2 counts as iterable, so
    // it is printed as tojson: a quoted JSON string with escaped quotes.
    List<Map<String, Object>> chat = List.of(
        msg("user", "Weather in Paris?"), Chats.weatherCall(null), msg("tool", "{\"temp\": 21}"));
    assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nWeather in Paris?<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n"
            + "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}<|eot_id|>"
            + "<|start_header_id|>ipython<|end_header_id|>\n\n\"{\\\"temp\\\": 21}\"<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n",
        render(resource("llama-3.1-instruct.jinja"), chat, true, LLAMA));
  }

  @Test
  void llama31RejectsParallelToolCalls() {
    // "not message.tool_calls|length == 1" is not (2 == 1): raise_exception.
    Map<String, Object> two = msg("assistant", null);
    two.put("tool_calls", List.of(vars("function", vars("name", "a", "arguments", Map.of())),
        vars("function", vars("name", "b", "arguments", Map.of()))));
    TemplateRaisedException e = assertThrows(TemplateRaisedException.class,
        () -> render(resource("llama-3.1-instruct.jinja"), List.of(msg("user", "x"), two), false,
            LLAMA));
    assertEquals("This model only supports single tool-calls at once!", e.templateMessage());
  }

  // ---- Llama 3.2 ----

  @Test
  void llama32DateComesFromStrftimeNow() {
    // date_string undefined and strftime_now defined (a transformers global): the date is
    // strftime_now("%d %b %Y") of the test clock, 2025-03-09. The rest is as in Llama 3.1.
    assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Cutting Knowledge Date: December 2023\nToday Date: 09 Mar 2025\n\n"
            + "You are a concise assistant.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n",
        render(resource("llama-3.2-instruct.jinja"), SYSTEM_USER, true, LLAMA));
  }

  @Test
  void llama32DateStringVariableWins() {
    // "not date_string is defined" is false when the request passes date_string.
    Map<String, Object> variables = vars("bos_token", "<|begin_of_text|>", "date_string",
        "01 Jan 2025");
    assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Cutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\n<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\nHello! How can I help?<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n",
        render(resource("llama-3.2-instruct.jinja"), MULTI_TURN, true, variables));
  }

  // ---- Qwen2.5 ----

  @Test
  void qwen25DefaultSystemPrompt() {
    // No tools and messages[0] is not system: the default Qwen system turn. Each user and
    // plain assistant message: <|im_start|>role\ncontent<|im_end|>\n.
    assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful"
            + " assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
            + "Hello! How can I help?<|im_end|>\n<|im_start|>user\nTell me a joke.<|im_end|>\n"
            + "<|im_start|>assistant\n",
        render(resource("qwen2.5-instruct.jinja"), MULTI_TURN, true, Map.of()));
  }

  @Test
  void qwen25SystemMessageWithoutGenerationPrompt() {
    // The system message replaces the default; the loop skips it (system and loop.first).
    assertEquals("<|im_start|>system\nYou are a concise assistant.<|im_end|>\n"
            + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n",
        render(resource("qwen2.5-instruct.jinja"), SYSTEM_USER, false, Map.of()));
  }

  @Test
  void qwen25ToolCall() {
    // tools: default system text + tools block (tojson per tool). The assistant message has
    // tool_calls and empty content: "<|im_start|>assistant", no content line, then "\n<tool_call>
    // \n{...}\n</tool_call>" and <|im_end|>. The tool reply opens a user turn (previous role is
    // not tool) and closes it (it is last).
    List<Map<String, Object>> chat = List.of(
        msg("user", "Weather in Paris?"), Chats.weatherCall(""), msg("tool", "sunny"));
    assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful"
            + " assistant.\n\n# Tools\n\nYou may call one or more functions to assist with the"
            + " user query.\n\nYou are provided with function signatures within <tools></tools>"
            + " XML tags:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\":"
            + " \"get_weather\", \"description\": \"Get the weather\", \"parameters\": {\"type\":"
            + " \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\":"
            + " [\"city\"]}}}\n</tools>\n\nFor each function call, return a json object with"
            + " function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>"
            + "\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"
            + "<|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant"
            + "\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
            + "</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nsunny\n"
            + "</tool_response><|im_end|>\n<|im_start|>assistant\n",
        render(resource("qwen2.5-instruct.jinja"), chat, true,
            Map.of("tools", List.of(Chats.weatherTool()))));
  }

  // ---- Mistral ----

  @Test
  void mistralV03MultiTurn() {
    // bos_token; user: " [INST] " + content + " [/INST]"; assistant (content defined):
    // " " + content + " " + eos_token. No generation prompt exists in this template.
    assertEquals("<s> [INST] Hi! [/INST] Hello! How can I help? </s> [INST] Tell me a joke."
            + " [/INST]",
        render(resource("mistral-v0.3-instruct.jinja"), MULTI_TURN, true,
            vars("bos_token", "<s>", "eos_token", "</s>")));
  }

  @Test
  void mistralV03ToolsBeforeTheLastUserMessage() {
    // The last user message gets " [AVAILABLE_TOOLS] [" + each tool: its function's items
    // except "return" (loop filter), strings quoted by hand, others |tojson, joined by ", ",
    // closed by "}}" and "]" + " [/AVAILABLE_TOOLS]".
    assertEquals("<s> [AVAILABLE_TOOLS] [{\"type\": \"function\", \"function\": {\"name\":"
            + " \"get_weather\", \"description\": \"Get the weather\", \"parameters\": {\"type\":"
            + " \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\":"
            + " [\"city\"]}}}] [/AVAILABLE_TOOLS] [INST] Weather in Paris? [/INST]",
        render(resource("mistral-v0.3-instruct.jinja"), List.of(msg("user", "Weather in Paris?")),
            true, vars("bos_token", "<s>", "eos_token", "</s>",
                "tools", List.of(Chats.weatherTool()))));
  }

  @Test
  void mistralV02MultiTurnAndAlternation() {
    // "[INST] " + content + " [/INST]" for users, content + eos_token + " " for assistants.
    assertEquals("<s>[INST] Hi! [/INST]Hello! How can I help?</s> [INST] Tell me a joke. [/INST]",
        render(resource("mistral-v0.2-instruct.jinja"), MULTI_TURN, true,
            vars("bos_token", "<s>", "eos_token", "</s>")));
    // Two user messages in a row: (role == 'user') != (index0 % 2 == 0) at index 1.
    TemplateRaisedException e = assertThrows(TemplateRaisedException.class,
        () -> render(resource("mistral-v0.2-instruct.jinja"),
            List.of(msg("user", "a"), msg("user", "b")), true, vars("bos_token", "<s>")));
    assertEquals("Conversation roles must alternate user/assistant/user/assistant/...",
        e.templateMessage());
  }

  // ---- Gemma ----

  @Test
  void gemmaTurnsTrimmedAndModelRole() {
    // assistant is renamed "model"; content|trim drops "  " and "\n" around "Hi!"; each turn is
    // <start_of_turn>role\ncontent<end_of_turn>\n; the prompt adds <start_of_turn>model\n.
    List<Map<String, Object>> chat = List.of(msg("user", "  Hi!\n"),
        msg("assistant", "Hello! How can I help?"), msg("user", "Tell me a joke."));
    Map<String, Object> gemma = vars("bos_token", "<bos>", "eos_token", "<eos>");
    assertEquals("<bos><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\n"
            + "Hello! How can I help?<end_of_turn>\n<start_of_turn>user\nTell me a joke."
            + "<end_of_turn>\n<start_of_turn>model\n",
        render(resource("gemma-2-it.jinja"), chat, true, gemma));
    assertEquals("<bos><start_of_turn>user\nHi<end_of_turn>\n",
        render(resource("gemma-2-it.jinja"), List.of(msg("user", "Hi")), false, gemma));
  }

  @Test
  void gemmaRejectsSystemAndBadOrder() {
    Map<String, Object> gemma = vars("bos_token", "<bos>");
    TemplateRaisedException system = assertThrows(TemplateRaisedException.class,
        () -> render(resource("gemma-2-it.jinja"), SYSTEM_USER, true, gemma));
    assertEquals("System role not supported", system.templateMessage());
    TemplateRaisedException order = assertThrows(TemplateRaisedException.class,
        () -> render(resource("gemma-2-it.jinja"), List.of(msg("assistant", "x")), true, gemma));
    assertEquals("Conversation roles must alternate user/assistant/user/assistant/...",
        order.templateMessage());
  }

  // ---- Phi-3 ----

  @Test
  void phi3() {
    // <|role|>\ncontent<|end|>\n per message; the prompt is <|assistant|>\n, and without it the
    // template appends eos_token.
    Map<String, Object> phi = vars("bos_token", "<s>", "eos_token", "<|endoftext|>");
    assertEquals("<|system|>\nYou are a concise assistant.<|end|>\n<|user|>\nWhat is 2+2?<|end|>\n"
            + "<|assistant|>\n",
        render(resource("phi-3-mini-instruct.jinja"), SYSTEM_USER, true, phi));
    assertEquals("<|user|>\nHi!<|end|>\n<|assistant|>\nHello! How can I help?<|end|>\n"
            + "<|user|>\nTell me a joke.<|end|>\n<|endoftext|>",
        render(resource("phi-3-mini-instruct.jinja"), MULTI_TURN, false, phi));
  }

  // ---- SmolLM2 ----

  @Test
  void smolLm2() {
    // Without a system message the first iteration prints SmolLM's default system turn; ChatML
    // turns follow.
    assertEquals("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by"
            + " Hugging Face<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
            + "Hello! How can I help?<|im_end|>\n<|im_start|>user\nTell me a joke.<|im_end|>\n"
            + "<|im_start|>assistant\n",
        render(resource("smollm2-instruct.jinja"), MULTI_TURN, true, Map.of()));
    assertEquals("<|im_start|>system\nYou are a concise assistant.<|im_end|>\n"
            + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n",
        render(resource("smollm2-instruct.jinja"), SYSTEM_USER, false, Map.of()));
  }

  // ---- Zephyr ----

  @Test
  void zephyrBlockTagsOnTheirOwnLines() {
    // Every tag sits on its own line. trim_blocks eats the newline after each {% %}; each
    // {{ ... }} line keeps its newline (trim_blocks does not apply to expressions), so each turn
    // is <|role|>\ncontent</s>\n. '<|assistant|>' comes from the last iteration when
    // add_generation_prompt, with its line's newline.
    Map<String, Object> zephyr = vars("bos_token", "<s>", "eos_token", "</s>");
    assertEquals("<|system|>\nYou are a concise assistant.</s>\n<|user|>\nWhat is 2+2?</s>\n"
            + "<|assistant|>\n",
        render(resource("zephyr-7b-beta.jinja"), SYSTEM_USER, true, zephyr));
    assertEquals("<|user|>\nHi!</s>\n<|assistant|>\nHello! How can I help?</s>\n<|user|>\n"
            + "Tell me a joke.</s>\n",
        render(resource("zephyr-7b-beta.jinja"), MULTI_TURN, false, zephyr));
  }
}
