package dev.llmbatch.flavor.hf;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.internal.JsonFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A tokenizer's {@code tokenizer_config.json} (plus {@code chat_template.jinja}, where newer
 * transformers save the template). Special tokens may be written as strings or as AddedToken
 * objects ({@code {"content": "<s>", ...}}); both read as their content.
 *
 * @param file where it was read from
 * @param chatTemplates templates by name: a lone string template is named {@code default}; a list
 *     of {@code {name, template}} keeps its names; empty when the tokenizer has none
 * @param bosToken {@code bos_token} content, or null
 * @param eosToken {@code eos_token} content, or null
 * @param padToken {@code pad_token} content, or null
 * @param unkToken {@code unk_token} content, or null
 * @param modelMaxLength {@code model_max_length}, or null when absent or HF's "unlimited" 1e30
 * @param addBosToken {@code add_bos_token}, or null
 * @param addEosToken {@code add_eos_token}, or null
 * @param tokenizerClass {@code tokenizer_class}, or null
 * @param addedTokens {@code added_tokens_decoder}: id to token
 * @param raw the whole file
 */
public record TokenizerConfig(
    Path file,
    Map<String, String> chatTemplates,
    String bosToken,
    String eosToken,
    String padToken,
    String unkToken,
    Long modelMaxLength,
    Boolean addBosToken,
    Boolean addEosToken,
    String tokenizerClass,
    Map<Integer, AddedToken> addedTokens,
    JsonNode raw) {
  /** The file name. */
  public static final String FILE_NAME = "tokenizer_config.json";
  /** Where transformers &ge; 4.47 may save the chat template instead. */
  public static final String JINJA_FILE_NAME = "chat_template.jinja";
  /** The name given to a template stored as a single string. */
  public static final String DEFAULT_TEMPLATE = "default";

  /** One entry of {@code added_tokens_decoder}. */
  public record AddedToken(String content, boolean special) {}

  public TokenizerConfig {
    chatTemplates = Collections.unmodifiableMap(new LinkedHashMap<>(chatTemplates));
    addedTokens = Collections.unmodifiableMap(new LinkedHashMap<>(addedTokens));
    raw = raw.deepCopy();
  }

  /** Reads {@code dir/tokenizer_config.json}; empty when neither it nor a template file exists. */
  public static Optional<TokenizerConfig> read(Path dir) {
    Path file = dir.resolve(FILE_NAME);
    Path jinja = dir.resolve(JINJA_FILE_NAME);
    if (!Files.exists(file) && !Files.exists(jinja)) {
      return Optional.empty();
    }
    JsonNode root = Files.exists(file)
        ? JsonFiles.readObject(file, "fix the file or save the tokenizer again")
        : JsonFiles.mapper().createObjectNode();
    Map<String, String> templates = new LinkedHashMap<>();
    JsonNode ct = root.get("chat_template");
    if (ct != null && ct.isTextual()) {
      templates.put(DEFAULT_TEMPLATE, ct.asText());
    } else if (ct != null && ct.isArray()) {
      for (JsonNode e : ct) {
        if (!e.hasNonNull("name") || !e.path("template").isTextual()) {
          throw new FlavorException("Cannot read " + file + ": key 'chat_template' is a list, so"
              + " each entry needs a 'name' and a 'template' string, but one is " + e);
        }
        templates.put(e.get("name").asText(), e.get("template").asText());
      }
    } else if (ct != null && !ct.isNull()) {
      throw new FlavorException("Cannot read " + file + ": key 'chat_template' should be a string or"
          + " a list of {name, template} but is " + ct.getNodeType());
    }
    if (Files.exists(jinja) && !templates.containsKey(DEFAULT_TEMPLATE)) {
      try {
        templates.put(DEFAULT_TEMPLATE, Files.readString(jinja, StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new FlavorException("Cannot read " + jinja + ": " + e, e);
      }
    }
    Map<Integer, AddedToken> added = new LinkedHashMap<>();
    root.path("added_tokens_decoder").fields().forEachRemaining(e -> {
      try {
        added.put(Integer.parseInt(e.getKey()), new AddedToken(e.getValue().path("content").asText(),
            e.getValue().path("special").asBoolean(false)));
      } catch (NumberFormatException ex) {
        throw new FlavorException("Cannot read " + file + ": key 'added_tokens_decoder' has a"
            + " non-numeric id '" + e.getKey() + "'");
      }
    });
    return Optional.of(new TokenizerConfig(file, templates, token(root, "bos_token"),
        token(root, "eos_token"), token(root, "pad_token"), token(root, "unk_token"),
        maxLength(root.get("model_max_length")), bool(root, "add_bos_token"),
        bool(root, "add_eos_token"), text(root, "tokenizer_class"), added, root));
  }

  /** The default chat template: the one named {@code default}, else the only one, else empty. */
  public Optional<String> chatTemplate() {
    if (chatTemplates.containsKey(DEFAULT_TEMPLATE)) {
      return Optional.of(chatTemplates.get(DEFAULT_TEMPLATE));
    }
    return chatTemplates.size() == 1 ? Optional.of(chatTemplates.values().iterator().next())
        : Optional.empty();
  }

  /** A named chat template (e.g. {@code tool_use}). */
  public Optional<String> chatTemplate(String name) {
    return Optional.ofNullable(chatTemplates.get(name));
  }

  /** Whether any chat template exists. */
  public boolean hasChatTemplate() {
    return !chatTemplates.isEmpty();
  }

  /** A special token written as a string or as an AddedToken object; null when absent. */
  static String token(JsonNode root, String key) {
    JsonNode v = root.get(key);
    if (v == null || v.isNull()) {
      return null;
    }
    if (v.isTextual()) {
      return v.asText();
    }
    if (v.isObject() && v.path("content").isTextual()) {
      return v.get("content").asText();
    }
    return null;
  }

  private static Long maxLength(JsonNode v) {
    if (v == null || !v.isNumber()) {
      return null;
    }
    double d = v.asDouble();
    // HF writes int(1e30) for "no limit"; anything beyond a trillion tokens means the same.
    return d <= 0 || d > 1e12 ? null : (long) d;
  }

  private static Boolean bool(JsonNode root, String key) {
    JsonNode v = root.get(key);
    return v == null || v.isNull() ? null : v.asBoolean();
  }

  private static String text(JsonNode root, String key) {
    JsonNode v = root.get(key);
    return v == null || v.isNull() ? null : v.asText();
  }
}
