package dev.llmbatch.engine.embed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.Pooling;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embeddings rules on the bert-tiny reference model and its real WordPiece tokenizer. */
class EmbeddingServiceTest {
  private static BertTiny bert;
  private static Path modelDir;
  private static Encoder encoder;
  private static TokenEncoder tokenizer;

  @TempDir Path tmp;

  @BeforeAll
  static void load() {
    bert = BertTiny.load();
    modelDir = bert.modelDir();
    encoder = bert.encoder();
    tokenizer = bert::ids;
  }

  @AfterAll
  static void close() {
    bert.close();
  }

  private static EmbeddingService service(PoolingChoice.Overrides o, int budget) {
    return EmbeddingService.create(encoder, tokenizer, modelDir, o,
        new TokenBudgetBatcher(budget, 16));
  }

  private static List<String> texts() {
    List<String> t = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      t.add("sentence number " + i + " " + "with some more words ".repeat(i % 7));
    }
    return t;
  }

  /**
   * Enough inputs to be tokenised in parallel: every row still gets its own ids (checked through
   * its token count and vector) in input order, and bad rows keep their own index in the error.
   */
  @Test
  void manyInputsTokenisedInParallelStayInOrderWithTheirOwnErrors() {
    EmbeddingService s = service(PoolingChoice.Overrides.NONE, 256);
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < 3 * EmbeddingService.PARALLEL_PREPARE; i++) {
      texts.add(i % 37 == 5 ? " " : "row " + i + " says " + "more ".repeat(i % 11));
    }
    EmbeddingService.Result r = s.embed(texts, null);
    assertEquals(texts.size(), r.rows().size());
    for (int i = 0; i < texts.size(); i++) {
      EmbeddingService.Row row = r.rows().get(i);
      if (i % 37 == 5) {
        assertFalse(row.ok(), "row " + i);
        assertTrue(row.errorMessage().contains("input[" + i + "]"), row.errorMessage());
        continue;
      }
      int[] ids = tokenizer.encode(texts.get(i));
      assertEquals(ids.length, row.promptTokens(), "row " + i);
      float[] single = encoder.embed(List.of(ids), Pooling.MEAN, true)[0];
      assertArrayEquals(single, row.embedding(), 1e-5f, "row " + i + " in input order");
    }
  }

  @Test
  void defaultIsMeanL2AndRowsComeBackInInputOrderWithExactCounts() {
    EmbeddingService s = service(PoolingChoice.Overrides.NONE, 64);
    assertEquals(Pooling.MEAN, s.choice().pooling());
    assertTrue(s.choice().normalize());
    assertEquals(512, s.choice().maxSeqLength());
    assertTrue(s.choice().source().startsWith("default"));
    List<String> texts = texts();
    EmbeddingService.Result r = s.embed(texts, null);
    assertTrue(r.stats().batches() > 1, "a small budget splits the work");
    long real = 0;
    for (int i = 0; i < texts.size(); i++) {
      EmbeddingService.Row row = r.rows().get(i);
      int[] ids = tokenizer.encode(texts.get(i));
      assertTrue(row.ok());
      assertEquals(ids.length, row.promptTokens());
      real += ids.length;
      float[] single = encoder.embed(List.of(ids), Pooling.MEAN, true)[0];
      assertArrayEquals(single, row.embedding(), 1e-5f, "row " + i + " in input order");
    }
    assertEquals(real, r.stats().realTokens());
    assertEquals((double) real / r.stats().paddedTokens(), r.stats().paddingEfficiency(), 1e-12);
    assertTrue(r.stats().paddingEfficiency() > 0.5);
  }

  @Test
  void truncationKeepsTheTrailingSeparatorAndCountsAsFed() {
    EmbeddingService s = service(new PoolingChoice.Overrides(null, null, 8), 512);
    String text = "one two three four five six seven eight nine ten";
    int[] full = tokenizer.encode(text);
    assertTrue(full.length > 8);
    EmbeddingService.Row row = s.embed(List.of(text), null).rows().get(0);
    assertEquals(8, row.promptTokens());
    assertTrue(row.truncated());
    int[] cut = s.truncate(full);
    assertEquals(full[0], cut[0]);
    assertEquals(full[full.length - 1], cut[7], "[SEP] stays last");
    assertEquals(full[6], cut[6]);
    assertArrayEquals(encoder.embed(List.of(cut), Pooling.MEAN, true)[0], row.embedding(), 1e-5f);
    assertFalse(s.embed(List.of("short"), null).rows().get(0).truncated());
  }

  @Test
  void emptyAndWhitespaceRowsFailAloneAndDimensionsRenormalise() {
    EmbeddingService s = service(PoolingChoice.Overrides.NONE, 512);
    EmbeddingService.Result r = s.embed(List.of("a real sentence", "", "  \t\n", "another"), null);
    assertTrue(r.rows().get(0).ok());
    assertEquals("invalid_request_error", r.rows().get(1).errorCode());
    assertTrue(r.rows().get(1).errorMessage().contains("empty"));
    assertEquals("invalid_request_error", r.rows().get(2).errorCode());
    assertTrue(r.rows().get(2).errorMessage().contains("whitespace"));
    assertNull(r.rows().get(2).embedding());
    assertTrue(r.rows().get(3).ok());

    float[] full = r.rows().get(0).embedding();
    List<EmbeddingService.Item> items = List.of(new EmbeddingService.Item("a real sentence", 16),
        new EmbeddingService.Item("a real sentence", 65),
        new EmbeddingService.Item("a real sentence", 0),
        new EmbeddingService.Item("a real sentence", 64));
    List<EmbeddingService.Row> rows = s.embedItems(items).rows();
    float[] short16 = rows.get(0).embedding();
    assertEquals(16, short16.length);
    double norm = 0;
    double head = 0;
    for (int i = 0; i < 16; i++) {
      norm += short16[i] * (double) short16[i];
      head += full[i] * (double) full[i];
    }
    assertEquals(1.0, norm, 1e-5);
    for (int i = 0; i < 16; i++) {
      assertEquals(full[i] / Math.sqrt(head), short16[i], 1e-5);
    }
    assertEquals("invalid_request_error", rows.get(1).errorCode());
    assertTrue(rows.get(1).errorMessage().contains("64 dimensions"));
    assertEquals("invalid_request_error", rows.get(2).errorCode());
    assertArrayEquals(full, rows.get(3).embedding(), 1e-6f);
  }

  @Test
  void poolingComesFromSentenceTransformersFilesThenOverrides() throws IOException {
    Files.writeString(tmp.resolve("modules.json"), "[{\"idx\":0,\"name\":\"0\",\"path\":\"\","
        + "\"type\":\"sentence_transformers.models.Transformer\"},{\"idx\":1,\"name\":\"1\","
        + "\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"}]");
    Files.createDirectories(tmp.resolve("1_Pooling"));
    Files.writeString(tmp.resolve("1_Pooling/config.json"), "{\"word_embedding_dimension\":64,"
        + "\"pooling_mode_cls_token\":true,\"pooling_mode_mean_tokens\":false}");
    Files.writeString(tmp.resolve("sentence_bert_config.json"), "{\"max_seq_length\":128}");
    PoolingChoice c = PoolingChoice.resolve(tmp, 512, PoolingChoice.Overrides.NONE);
    assertEquals(Pooling.CLS, c.pooling());
    assertFalse(c.normalize(), "no Normalize module: raw vectors");
    assertEquals(128, c.maxSeqLength());
    assertTrue(c.source().startsWith("sentence-transformers"));

    PoolingChoice o = PoolingChoice.resolve(tmp, 512,
        new PoolingChoice.Overrides(Pooling.MAX, true, 64));
    assertEquals(Pooling.MAX, o.pooling());
    assertTrue(o.normalize());
    assertEquals(64, o.maxSeqLength());
    assertTrue(o.source().contains("overridden"));
    assertThrows(EngineException.class, () -> PoolingChoice.resolve(tmp, 512,
        new PoolingChoice.Overrides(null, null, 513)));

    Files.writeString(tmp.resolve("1_Pooling/config.json"),
        "{\"pooling_mode_weightedmean_tokens\":true}");
    EngineException e = assertThrows(EngineException.class,
        () -> PoolingChoice.resolve(tmp, 512, PoolingChoice.Overrides.NONE));
    assertTrue(e.getMessage().contains("weightedmean"), e.getMessage());
  }
}
