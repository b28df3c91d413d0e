package dev.llmbatch.flavor.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes the {@code tokenizer_config.json} and {@code special_tokens_map.json} that
 * {@code BertTokenizerFast.save_pretrained} would, derived from a WordPiece tokenizer.json.
 */
final class TokenizerFiles {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private TokenizerFiles() {}

  static void write(Path dir, JsonNode tokenizer, int maxSeq) throws IOException {
    Map<String, String> special = new LinkedHashMap<>();
    special.put("cls_token", "[CLS]");
    special.put("mask_token", "[MASK]");
    special.put("pad_token", "[PAD]");
    special.put("sep_token", "[SEP]");
    special.put("unk_token", "[UNK]");
    JsonNode vocab = tokenizer.path("model").path("vocab");
    special.values().removeIf(v -> !vocab.has(v));
    JsonNode norm = tokenizer.path("normalizer");
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("clean_up_tokenization_spaces", true);
    config.putAll(special);
    config.put("do_lower_case", norm.path("lowercase").asBoolean(false));
    config.put("model_max_length", maxSeq);
    config.put("strip_accents", norm.path("strip_accents").isNull() ? null
        : norm.path("strip_accents").asBoolean());
    config.put("tokenize_chinese_chars", norm.path("handle_chinese_chars").asBoolean(true));
    config.put("tokenizer_class", "BertTokenizer");
    JSON.writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
    JSON.writeValue(dir.resolve("special_tokens_map.json").toFile(), special);
  }
}
