package dev.llmbatch.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.llmbatch.flavor.sample.SampleModels;
import dev.llmbatch.flavor.sample.SampleTokenizers;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo's and fixtures' word-level tokenizer.json must load in the real HF tokenizers library
 * (through DJL, as the engine loads it), not only parse as JSON.
 */
class SampleModelTokenizerTest {
  @TempDir Path tmp;

  @Test
  void wordLevelTokenizerLoadsInHuggingFaceTokenizers() throws Exception {
    int vocab = SampleTokenizers.writeWordLevel(tmp, List.of("hello", "world", "!"), null);
    assertEquals(8, vocab);
    try (HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(tmp.resolve("tokenizer.json"),
        Map.of("addSpecialTokens", "false"))) {
      Encoding e = t.encode("hello world ! unknownword <|im_end|>");
      // ids: <unk>=0 <s>=1 </s>=2 <|im_end|>=3 <|im_start|>=4, then hello=5 world=6 !=7
      assertArrayEquals(new long[] {5, 6, 7, 0, 3}, e.getIds());
    }
  }
}
