package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One chat message. {@code content} is plain text; {@code name} is optional.
 *
 * @param role {@code system}, {@code user}, {@code assistant} or {@code tool}
 * @param content the text
 * @param name optional participant name
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"role", "content", "name"})
public record ChatMessage(String role, String content, String name) {
  /** Roles the spec accepts. */
  public static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");

  /** A message without a name. */
  public ChatMessage(String role, String content) {
    this(role, content, null);
  }

  /** The message as a chat template sees it ({@code role}, {@code content}, {@code name} if set). */
  public Map<String, Object> toTemplateMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("role", role);
    m.put("content", content == null ? "" : content);
    if (name != null) {
      m.put("name", name);
    }
    return m;
  }
}
