package dev.llmbatch.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.engine.EngineException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The id ↔ token table of a {@code tokenizer.json}: the model's vocabulary plus its
 * {@code added_tokens}, with the special flag of each added token. DJL's tokenizer exposes no
 * vocabulary lookups, so the table is read here once; ids are exactly those the Rust core uses.
 */
final class Vocabulary {
  private final Map<String, Integer> ids;
  private final String[] tokens; // (size) id -> token, null where the id is unused
  private final BitSet special;

  private Vocabulary(Map<String, Integer> ids, String[] tokens, BitSet special) {
    this.ids = ids;
    this.tokens = tokens;
    this.special = special;
  }

  static Vocabulary read(Path tokenizerJson) {
    JsonNode root;
    try (InputStream in = Files.newInputStream(tokenizerJson)) {
      root = new ObjectMapper().readTree(in);
    } catch (IOException e) {
      throw new EngineException(
          "Cannot read tokenizer vocabulary " + tokenizerJson + ": " + e.getMessage(), e);
    }
    Map<String, Integer> ids = new HashMap<>();
    JsonNode model = root.path("model");
    JsonNode vocab = model.path("vocab");
    String type = model.path("type").asText("");
    if (vocab.isObject()) { // BPE, WordPiece, WordLevel: {"token": id}
      for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        ids.put(e.getKey(), e.getValue().asInt());
      }
    } else if (vocab.isArray()) { // Unigram: [[piece, score], ...], id = index
      for (int i = 0; i < vocab.size(); i++) {
        ids.put(vocab.get(i).get(0).asText(), i);
      }
    } else {
      throw new EngineException(
          "Cannot read tokenizer vocabulary " + tokenizerJson + ": model '" + type
              + "' has no model.vocab object or array; re-save the tokenizer with transformers");
    }
    BitSet special = new BitSet();
    for (JsonNode added : root.path("added_tokens")) {
      int id = added.path("id").asInt();
      ids.put(added.path("content").asText(), id);
      if (added.path("special").asBoolean(false)) {
        special.set(id);
      }
    }
    int size = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    String[] tokens = new String[size];
    for (Map.Entry<String, Integer> e : ids.entrySet()) {
      tokens[e.getValue()] = e.getKey();
    }
    return new Vocabulary(ids, tokens, special);
  }

  int size() {
    return tokens.length;
  }

  OptionalInt id(String token) {
    Integer id = ids.get(token);
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }

  String token(int id) {
    if (id < 0 || id >= tokens.length || tokens[id] == null) {
      throw new EngineException(
          "Cannot look up token id " + id + ": the tokenizer has ids 0.." + (tokens.length - 1));
    }
    return tokens[id];
  }

  boolean isSpecial(int id) {
    return id >= 0 && special.get(id);
  }
}
