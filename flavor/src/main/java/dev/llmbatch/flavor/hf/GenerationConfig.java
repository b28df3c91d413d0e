package dev.llmbatch.flavor.hf;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.flavor.internal.JsonFiles;
import dev.llmbatch.flavor.internal.Nodes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A model's {@code generation_config.json}: the defaults HF's {@code generate} applies, one rung of
 * the parameter precedence (row &gt; job &gt; MLmodel model_config &gt; this &gt; built-ins).
 * Every field is null when the file does not set it.
 *
 * @param eosTokenIds {@code eos_token_id}, an int or a list in the file; empty when absent
 * @param bosTokenId {@code bos_token_id}
 * @param padTokenId {@code pad_token_id}
 * @param doSample {@code do_sample}
 * @param temperature {@code temperature}
 * @param topP {@code top_p}
 * @param topK {@code top_k}
 * @param minP {@code min_p}
 * @param maxNewTokens {@code max_new_tokens}
 * @param maxLength {@code max_length} (prompt plus generated tokens)
 * @param repetitionPenalty {@code repetition_penalty}
 * @param extra every other key
 */
public record GenerationConfig(
    List<Integer> eosTokenIds,
    Integer bosTokenId,
    Integer padTokenId,
    Boolean doSample,
    Double temperature,
    Double topP,
    Integer topK,
    Double minP,
    Integer maxNewTokens,
    Integer maxLength,
    Double repetitionPenalty,
    Map<String, Object> extra) {
  /** The file name. */
  public static final String FILE_NAME = "generation_config.json";

  public GenerationConfig {
    eosTokenIds = eosTokenIds == null ? List.of() : List.copyOf(eosTokenIds);
    extra = extra == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
  }

  /** Reads {@code dir/generation_config.json}; empty when the file does not exist. */
  public static Optional<GenerationConfig> read(Path dir) {
    Path file = dir.resolve(FILE_NAME);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    JsonNode root = JsonFiles.readObject(file, "fix or delete the file");
    Nodes n = Nodes.of(root, file.toString());
    List<Integer> eos = new ArrayList<>();
    for (String s : n.texts("eos_token_id")) {
      eos.add(parseInt(file, "eos_token_id", s));
    }
    return Optional.of(new GenerationConfig(eos, toInt(n.integer("bos_token_id")),
        toInt(n.integer("pad_token_id")), n.bool("do_sample"), n.number("temperature"),
        n.number("top_p"), toInt(n.integer("top_k")), n.number("min_p"),
        toInt(n.integer("max_new_tokens")), toInt(n.integer("max_length")),
        n.number("repetition_penalty"), n.rest()));
  }

  private static int parseInt(Path file, String key, String s) {
    try {
      return Integer.parseInt(s.trim());
    } catch (NumberFormatException e) {
      throw new dev.llmbatch.flavor.FlavorException("Cannot read " + file + ": key '" + key
          + "' should be a token id or a list of token ids but holds '" + s + "'");
    }
  }

  private static Integer toInt(Long v) {
    return v == null ? null : Math.toIntExact(Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v)));
  }
}
