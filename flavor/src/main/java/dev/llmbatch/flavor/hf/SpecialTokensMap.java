package dev.llmbatch.flavor.hf;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.flavor.internal.JsonFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A tokenizer's {@code special_tokens_map.json}. Tokens may be strings or AddedToken objects; both
 * read as their content. Null when absent.
 *
 * @param bosToken {@code bos_token}
 * @param eosToken {@code eos_token}
 * @param padToken {@code pad_token}
 * @param unkToken {@code unk_token}
 * @param sepToken {@code sep_token}
 * @param clsToken {@code cls_token}
 * @param maskToken {@code mask_token}
 * @param additionalSpecialTokens {@code additional_special_tokens}
 */
public record SpecialTokensMap(String bosToken, String eosToken, String padToken, String unkToken,
    String sepToken, String clsToken, String maskToken, List<String> additionalSpecialTokens) {
  /** The file name. */
  public static final String FILE_NAME = "special_tokens_map.json";

  public SpecialTokensMap {
    additionalSpecialTokens = additionalSpecialTokens == null ? List.of()
        : List.copyOf(additionalSpecialTokens);
  }

  /** Reads {@code dir/special_tokens_map.json}; empty when it does not exist. */
  public static Optional<SpecialTokensMap> read(Path dir) {
    Path file = dir.resolve(FILE_NAME);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    JsonNode root = JsonFiles.readObject(file, "fix the file or save the tokenizer again");
    List<String> extra = new ArrayList<>();
    for (JsonNode t : root.path("additional_special_tokens")) {
      String s = t.isTextual() ? t.asText() : t.path("content").asText(null);
      if (s != null) {
        extra.add(s);
      }
    }
    return Optional.of(new SpecialTokensMap(TokenizerConfig.token(root, "bos_token"),
        TokenizerConfig.token(root, "eos_token"), TokenizerConfig.token(root, "pad_token"),
        TokenizerConfig.token(root, "unk_token"), TokenizerConfig.token(root, "sep_token"),
        TokenizerConfig.token(root, "cls_token"), TokenizerConfig.token(root, "mask_token"), extra));
  }
}
