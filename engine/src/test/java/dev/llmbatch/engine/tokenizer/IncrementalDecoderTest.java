package dev.llmbatch.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class IncrementalDecoderTest {
  private static JsonNode llama;
  private static TextTokenizer qwen;
  private static TextTokenizer bert;

  @BeforeAll
  static void load() {
    llama = Reference.goldens("llama");
    qwen = TextTokenizer.load(Reference.tokenizerDir("llama"));
    bert = TextTokenizer.load(Reference.tokenizerDir("bert-tiny"));
  }

  @AfterAll
  static void close() {
    qwen.close();
    bert.close();
  }

  /** Streams ids one at a time; returns the pieces, the flush last. */
  private static List<String> stream(TextTokenizer tokenizer, int[] ids, boolean skipSpecial) {
    IncrementalDecoder decoder = tokenizer.incrementalDecoder(skipSpecial);
    List<String> pieces = new ArrayList<>();
    for (int id : ids) {
      pieces.add(decoder.append(id));
    }
    pieces.add(decoder.flush());
    assertEquals(ids.length, decoder.length());
    return pieces;
  }

  /** A piece ends in a broken character if its last char is U+FFFD or a lone high surrogate. */
  private static boolean endsBroken(String piece) {
    if (piece.isEmpty()) {
      return false;
    }
    char last = piece.charAt(piece.length() - 1);
    return last == '\uFFFD' || Character.isHighSurrogate(last);
  }

  @Test
  void goldenSequencesStreamToTheirFullDecode() {
    int held = 0;
    for (String section : List.of("prompts", "chats")) {
      for (JsonNode item : llama.path(section)) {
        String id = item.path("id").asText();
        for (boolean skip : new boolean[] {true, false}) {
          int[] generated = Reference.ints(item.path("greedy").path("new_token_ids"));
          int[] prompt = Reference.ints(item.path("input_ids"));
          for (int[] ids : new int[][] {generated, prompt}) {
            List<String> pieces = stream(qwen, ids, skip);
            assertEquals(qwen.decode(ids, skip), String.join("", pieces), id);
            for (int i = 0; i < ids.length; i++) {
              assertFalse(endsBroken(pieces.get(i)), id + " piece " + i + ": " + pieces.get(i));
              if (pieces.get(i).isEmpty() && !qwen.isSpecial(ids[i])) {
                held++;
              }
            }
          }
        }
      }
    }
    // The goldens hold characters split across byte-level tokens (CJK, emoji, gibberish output):
    // the decoder must have waited for the rest of a character at least a few times.
    assertTrue(held >= 4, "held " + held);
  }

  @Test
  void emojiSplitAcrossByteTokensIsEmittedWhole() {
    int[] ids = qwen.encode("ok 🦩𓀀!", false);
    List<String> pieces = stream(qwen, ids, true);
    assertEquals("ok 🦩𓀀!", String.join("", pieces));
    for (String piece : pieces) {
      assertFalse(endsBroken(piece), piece);
      // every code point arrives whole: no piece starts with a low surrogate
      assertTrue(piece.isEmpty() || !Character.isLowSurrogate(piece.charAt(0)), piece);
    }
    assertTrue(pieces.contains(""), "an emoji spans several byte-level tokens: " + pieces);
  }

  @Test
  void truncatedCharacterAtTheEndIsFlushedAsReplacement() {
    // Rare characters are spelled in byte-level tokens; take the first that needs several.
    int[] emoji = new int[0];
    for (String c : List.of("🦩", "𝔘", "𓀀", "䶵", "🜁")) {
      emoji = qwen.encode(c, false);
      if (emoji.length > 1) {
        break;
      }
    }
    assertTrue(emoji.length > 1, "no candidate character is several byte tokens in Qwen3");
    int[] partial = java.util.Arrays.copyOf(emoji, emoji.length - 1);
    IncrementalDecoder decoder = qwen.incrementalDecoder(true);
    for (int id : partial) {
      assertEquals("", decoder.append(id));
    }
    String rest = decoder.flush();
    assertEquals(qwen.decode(partial, true), rest);
    assertTrue(rest.endsWith("\uFFFD"), rest);
    assertEquals("", decoder.flush());
  }

  @Test
  void skippedSpecialTokensEmitNothing() {
    int[] ids = qwen.encode("<|im_start|>assistant\nSure.<|im_end|>", false);
    assertEquals("assistant\nSure.", String.join("", stream(qwen, ids, true)));
    assertEquals(
        "<|im_start|>assistant\nSure.<|im_end|>", String.join("", stream(qwen, ids, false)));
  }

  @Test
  void wordPieceContinuationsJoinAsInFullDecode() {
    int[] ids = bert.encode("The unaffable tokenizer handles antidisestablishmentarianism.", false);
    List<String> pieces = stream(bert, ids, true);
    assertEquals(bert.decode(ids, true), String.join("", pieces));
    assertEquals("the unaffable tokenizer handles antidisestablishmentarianism.", String.join("", pieces));
  }
}
