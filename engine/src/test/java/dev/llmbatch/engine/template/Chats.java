package dev.llmbatch.engine.template;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Small builders for chat-template tests. */
final class Chats {
  private Chats() {}

  /** 2025-03-09 14:05 UTC: what strftime_now sees in these tests. */
  static final Clock CLOCK =
      Clock.fixed(LocalDateTime.of(2025, 3, 9, 14, 5).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);

  static Map<String, Object> msg(String role, Object content) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("role", role);
    m.put("content", content);
    return m;
  }

  static Map<String, Object> vars(Object... keyValues) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      m.put((String) keyValues[i], keyValues[i + 1]);
    }
    return m;
  }

  /** An OpenAI function tool with one string parameter "city" (ordered maps: tojson keeps order). */
  static Map<String, Object> weatherTool() {
    return vars("type", "function", "function", vars(
        "name", "get_weather",
        "description", "Get the weather",
        "parameters", vars(
            "type", "object",
            "properties", vars("city", vars("type", "string")),
            "required", List.of("city"))));
  }

  /** An assistant message calling get_weather(city=Paris). */
  static Map<String, Object> weatherCall(Object content) {
    Map<String, Object> m = msg("assistant", content);
    m.put("tool_calls", List.of(vars("type", "function",
        "function", vars("name", "get_weather", "arguments", vars("city", "Paris")))));
    return m;
  }

  static String resource(String name) {
    try (InputStream in = Chats.class.getResourceAsStream("/templates/" + name)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource templates/" + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static ChatTemplate compile(String source) {
    return ChatTemplate.compile(source, ChatTemplate.Limits.DEFAULT, CLOCK);
  }

  static String render(String source, List<Map<String, Object>> messages, boolean generation,
      Map<String, Object> variables) {
    return compile(source).render(messages, generation, variables);
  }
}
