package dev.llmbatch.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.Pooling;
import dev.llmbatch.engine.model.decoder.DecoderEmbedder;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.testing.TinyEmbedders;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code llm-batch predict} with {@code /v1/embeddings} lines on a decoder-based embedding model
 * (a tiny random Qwen3-Embedding flavor: bare {@code Qwen3Model} checkpoint, sentence-transformers
 * last-token pooling + Normalize, a tokenizer that appends {@code <|endoftext|>}): each vector is
 * the model's normalised last-token state of the tokenizer's ids, truncation keeps the EOS, and
 * usage counts the tokens fed.
 */
class PredictDecoderEmbeddingsTest {
  @TempDir Path tmp;

  @Test
  void embeddingsLinesOnAQwen3EmbeddingFlavor() throws Exception {
    Path flavor = TinyEmbedders.qwen3EmbeddingFlavor(tmp.resolve("qwen3-embedding"));
    String longText = "Decoder embeddings pool the last token. ".repeat(20);
    Path in = Files.writeString(tmp.resolve("emb.jsonl"), String.join("\n",
        "{\"custom_id\":\"e1\",\"method\":\"POST\",\"url\":\"/v1/embeddings\","
            + "\"body\":{\"input\":[\"A man is eating food.\",\"hello\"]}}",
        "{\"custom_id\":\"e2\",\"method\":\"POST\",\"url\":\"/v1/embeddings\","
            + "\"body\":{\"input\":\"" + longText + "\"}}",
        "{\"custom_id\":\"e3\",\"method\":\"POST\",\"url\":\"/v1/embeddings\","
            + "\"body\":{\"input\":\"query: what is pooled?\",\"dimensions\":8}}") + "\n");
    Path out = tmp.resolve("emb-out.jsonl");
    PredictCommandTest.run("predict", "--model", flavor.toString(), "--input", in.toString(),
        "--output", out.toString(), "--threads", "1");
    List<JsonNode> res = PredictCommandTest.readOutput(out);
    assertEquals(3, res.size());

    try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.builder()
            .optTokenizerPath(flavor.resolve("components/tokenizer")).optAddSpecialTokens(true)
            .optTruncation(false).optPadding(false).build();
        DecoderEmbedder emb = DecoderEmbedder.load(flavor.resolve("model"),
            new LoadOptions("cpu", ComputeDtype.FP32, 1))) {
      assertEquals("Qwen3Model", emb.spec().architecture());
      int[] food = ids(tok, "A man is eating food.");
      int[] hello = ids(tok, "hello");
      int[] full = ids(tok, longText);
      int[] query = ids(tok, "query: what is pooled?");
      assertEquals(TinyEmbedders.ENDOFTEXT, hello[hello.length - 1], "the tokenizer appends EOS");
      assertTrue(full.length > 64, "the long input exceeds max_seq_length 64");
      // truncation keeps the first 63 tokens and the trailing <|endoftext|>
      int[] cut = Arrays.copyOf(full, 64);
      cut[63] = TinyEmbedders.ENDOFTEXT;
      float[][] want = emb.embed(List.of(food, hello, cut, query), Pooling.LASTTOKEN, true);

      JsonNode b1 = res.get(0).get("response").get("body");
      assertEquals(2, b1.get("data").size());
      assertVector(want[0], b1.get("data").get(0).get("embedding"), "e1[0]");
      assertVector(want[1], b1.get("data").get(1).get("embedding"), "e1[1]");
      assertEquals(food.length + hello.length, b1.get("usage").get("prompt_tokens").asInt());

      JsonNode b2 = res.get(1).get("response").get("body");
      assertVector(want[2], b2.get("data").get(0).get("embedding"), "e2 (truncated)");
      assertEquals(64, b2.get("usage").get("prompt_tokens").asInt());

      JsonNode v3 = res.get(2).get("response").get("body").get("data").get(0).get("embedding");
      assertEquals(8, v3.size());
      double n = 0;
      for (int d = 0; d < 8; d++) {
        n += want[3][d] * (double) want[3][d];
      }
      for (int d = 0; d < 8; d++) {
        assertEquals(want[3][d] / Math.sqrt(n), v3.get(d).asDouble(), 1e-5, "e3 dim " + d);
      }
    }
  }

  static int[] ids(HuggingFaceTokenizer tok, String text) {
    return Arrays.stream(tok.encode(text).getIds()).mapToInt(Math::toIntExact).toArray();
  }

  static void assertVector(float[] want, JsonNode got, String what) {
    assertEquals(want.length, got.size(), what + " width");
    double norm = 0;
    for (int d = 0; d < want.length; d++) {
      assertEquals(want[d], got.get(d).asDouble(), 1e-5, what + " dim " + d);
      norm += got.get(d).asDouble() * got.get(d).asDouble();
    }
    assertEquals(1.0, Math.sqrt(norm), 1e-5, what + " is a unit vector");
  }
}
