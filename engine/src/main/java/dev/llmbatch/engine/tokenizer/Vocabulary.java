package dev.llmbatch.engine.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.llmbatch.engine.EngineException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashMap;
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

  /**
   * Streams tokenizer.json, reading only {@code model.vocab} and {@code added_tokens}: the
   * {@code merges} list of a BPE model is as large as its vocabulary and is skipped unparsed.
   */
  static Vocabulary read(Path tokenizerJson) {
    Map<String, Integer> ids = new HashMap<>();
    BitSet special = new BitSet();
    boolean sawVocab = false;
    try (InputStream in = Files.newInputStream(tokenizerJson);
        JsonParser p = new JsonFactory().createParser(in)) {
      expect(p.nextToken() == JsonToken.START_OBJECT, tokenizerJson, "not a JSON object");
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        p.nextToken();
        if (field.equals("model") && p.currentToken() == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            p.nextToken();
            if (key.equals("vocab")) {
              readVocab(p, ids, tokenizerJson);
              sawVocab = true;
            } else {
              p.skipChildren();
            }
          }
        } else if (field.equals("added_tokens") && p.currentToken() == JsonToken.START_ARRAY) {
          while (p.nextToken() == JsonToken.START_OBJECT) {
            readAddedToken(p, ids, special);
          }
        } else {
          p.skipChildren();
        }
      }
    } catch (IOException e) {
      throw new EngineException(
          "Cannot read tokenizer vocabulary " + tokenizerJson + ": " + e.getMessage(), e);
    }
    expect(sawVocab, tokenizerJson, "no model.vocab; re-save the tokenizer with transformers");
    int size = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    String[] tokens = new String[size];
    for (Map.Entry<String, Integer> e : ids.entrySet()) {
      tokens[e.getValue()] = e.getKey();
    }
    return new Vocabulary(ids, tokens, special);
  }

  /** BPE, WordPiece, WordLevel: {"token": id}; Unigram: [[piece, score], ...] with id = index. */
  private static void readVocab(JsonParser p, Map<String, Integer> ids, Path file)
      throws IOException {
    if (p.currentToken() == JsonToken.START_OBJECT) {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String token = p.currentName();
        p.nextToken();
        ids.put(token, p.getIntValue());
      }
    } else if (p.currentToken() == JsonToken.START_ARRAY) {
      int id = 0;
      while (p.nextToken() == JsonToken.START_ARRAY) {
        p.nextToken();
        ids.put(p.getText(), id++);
        while (p.nextToken() != JsonToken.END_ARRAY) {
          p.skipChildren();
        }
      }
    } else {
      expect(false, file, "model.vocab is neither an object nor an array");
    }
  }

  private static void readAddedToken(JsonParser p, Map<String, Integer> ids, BitSet special)
      throws IOException {
    Integer id = null;
    String content = null;
    boolean isSpecial = false;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String key = p.currentName();
      p.nextToken();
      switch (key) {
        case "id": id = p.getIntValue(); break;
        case "content": content = p.getText(); break;
        case "special": isSpecial = p.getBooleanValue(); break;
        default: p.skipChildren();
      }
    }
    if (id != null && content != null) {
      ids.put(content, id);
      if (isSpecial) {
        special.set(id);
      }
    }
  }

  private static void expect(boolean ok, Path file, String problem) {
    if (!ok) {
      throw new EngineException("Cannot read tokenizer vocabulary " + file + ": " + problem);
    }
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
