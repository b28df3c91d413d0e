package dev.llmbatch.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.EngineException;
import java.nio.file.Path;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ids and texts against the goldens made by the same Rust tokenizers core (real Qwen3, BERT). */
class TextTokenizerTest {
  private static JsonNode llama;
  private static TextTokenizer qwen;
  private static JsonNode bertGoldens;
  private static TextTokenizer bert;

  @BeforeAll
  static void load() {
    llama = Reference.goldens("llama");
    qwen = TextTokenizer.load(Reference.tokenizerDir("llama"));
    bertGoldens = Reference.goldens("bert-tiny");
    bert = TextTokenizer.load(Reference.tokenizerDir("bert-tiny"));
  }

  @AfterAll
  static void close() {
    qwen.close();
    bert.close();
  }

  @Test
  void promptsEncodeAndDecodeAsGoldens() {
    assertTrue(llama.path("prompts").size() >= 8);
    for (JsonNode p : llama.path("prompts")) {
      String id = p.path("id").asText();
      int[] ids = Reference.ints(p.path("input_ids"));
      assertArrayEquals(ids, qwen.encode(p.path("text").asText(), true), id);
      assertEquals(p.path("input_decoded_roundtrip").asText(), qwen.decode(ids, false), id);
      int[] generated = Reference.ints(p.path("greedy").path("new_token_ids"));
      assertEquals(
          p.path("greedy").path("text_skip_special_tokens").asText(),
          qwen.decode(generated, true),
          id);
    }
  }

  @Test
  void renderedChatsEncodeWithoutAddedSpecialTokens() {
    assertTrue(llama.path("chats").size() >= 4);
    for (JsonNode c : llama.path("chats")) {
      String id = c.path("id").asText();
      assertFalse(c.path("add_special_tokens").asBoolean(), id);
      int[] ids = Reference.ints(c.path("input_ids"));
      assertArrayEquals(ids, qwen.encode(c.path("rendered").asText(), false), id);
      assertEquals(c.path("input_decoded_roundtrip").asText(), qwen.decode(ids, false), id);
      int[] generated = Reference.ints(c.path("greedy").path("new_token_ids"));
      assertEquals(
          c.path("greedy").path("text_skip_special_tokens").asText(),
          qwen.decode(generated, true),
          id);
    }
  }

  @Test
  void specialTokensInTextAreSingleIdsAndSkippable() {
    int imStart = qwen.tokenId("<|im_start|>").orElseThrow();
    int imEnd = qwen.tokenId("<|im_end|>").orElseThrow();
    assertEquals(151644, imStart);
    assertEquals(151645, imEnd);
    assertTrue(qwen.isSpecial(imStart));
    assertTrue(qwen.isSpecial(qwen.tokenId("<|endoftext|>").orElseThrow()));
    int[] ids = qwen.encode("<|im_start|>user\nHi<|im_end|>", false);
    assertEquals(imStart, ids[0]);
    assertEquals(imEnd, ids[ids.length - 1]);
    assertEquals("user\nHi", qwen.decode(ids, true));
    assertEquals("<|im_start|>user\nHi<|im_end|>", qwen.decode(ids, false));
  }

  @Test
  void vocabularyLookups() {
    // Qwen3: 151,643 BPE entries + 26 added tokens (151643..151668) = len(tokenizer).
    assertEquals(151669, qwen.vocabSize());
    int hello = qwen.encode("Hello", false)[0];
    assertEquals("Hello", qwen.token(hello));
    assertEquals(OptionalInt.of(hello), qwen.tokenId("Hello"));
    assertFalse(qwen.isSpecial(hello));
    assertEquals("Ġworld", qwen.token(qwen.encode(" world", false)[0])); // byte-level space mark
    assertEquals(OptionalInt.empty(), qwen.tokenId("no such token in any vocabulary"));
    assertFalse(qwen.isSpecial(-1));
    EngineException e = assertThrows(EngineException.class, () -> qwen.token(151669));
    assertTrue(e.getMessage().startsWith("Cannot look up token id 151669"), e.getMessage());
    e = assertThrows(EngineException.class, () -> qwen.decode(new int[] {5, -3}, false));
    assertTrue(e.getMessage().contains("id -3 at index 1"), e.getMessage());
  }

  @Test
  void bertWordPieceWithSpecialTokens() {
    assertTrue(bertGoldens.path("texts").size() >= 8);
    for (JsonNode t : bertGoldens.path("texts")) {
      String id = t.path("id").asText();
      int[] ids = Reference.ints(t.path("input_ids"));
      int[] encoded = bert.encode(t.path("text").asText(), true);
      assertArrayEquals(ids, encoded, id);
      for (int i = 0; i < ids.length; i++) {
        assertEquals(t.path("tokens").get(i).asText(), bert.token(ids[i]), id + " token " + i);
      }
      int[] plain = bert.encode(t.path("text").asText(), false);
      // Without special tokens: the same ids minus [CLS] first and [SEP] last.
      assertArrayEquals(java.util.Arrays.copyOfRange(ids, 1, ids.length - 1), plain, id);
    }
    int cls = bert.tokenId("[CLS]").orElseThrow();
    assertEquals(101, cls);
    assertTrue(bert.isSpecial(cls));
    assertEquals("a man is eating food.", bert.decode(bert.encode("A man is eating food.", true), true));
  }

  @Test
  void longTextIsNeverTruncated() {
    // bert's tokenizer_config says model_max_length 256; encoding must not truncate silently.
    String text = "word ".repeat(600);
    assertEquals(602, bert.encode(text, true).length);
  }

  @Test
  void missingTokenizerJsonIsAClearError(@TempDir Path empty) {
    EngineException e = assertThrows(EngineException.class, () -> TextTokenizer.load(empty));
    assertTrue(e.getMessage().startsWith("Cannot load tokenizer from " + empty), e.getMessage());
    assertTrue(e.getMessage().contains("no tokenizer.json"), e.getMessage());
  }
}
