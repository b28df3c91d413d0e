package dev.llmbatch.engine.model.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.Pooling;
import dev.llmbatch.engine.testing.TinyEncoders;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RoBERTa and MPNet on tiny random checkpoints, checked against BERT on the same weights: RoBERTa's
 * positions start at padding_idx + 1, so a BERT whose position table is RoBERTa's shifted by that
 * offset must agree with it; an MPNet with a zero relative-bias table and MPNet names must agree
 * with that RoBERTa (zero token-type row). Plus MPNet's relative buckets by hand.
 */
class EncoderFamiliesTest {
  private static final int H = 16;
  private static final int HEADS = 2;
  private static final int I = 32;
  private static final int V = 40;
  private static final int P = 24;
  private static final int PAD = 1;

  @TempDir Path dir;

  private final Map<String, float[]> base = new LinkedHashMap<>();
  private final Map<String, long[]> shapes = new LinkedHashMap<>();

  private void weights(long seed) {
    TinyEncoders.Weights w = TinyEncoders.bert(new Random(seed), 0.3, H, I, V, P, 2);
    base.putAll(w.values());
    shapes.putAll(w.shapes());
  }

  private Path write(String name, String type, Map<String, float[]> w, Map<String, long[]> s,
      int positions) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("model_type", type);
    c.put("hidden_size", H);
    c.put("num_hidden_layers", 2);
    c.put("num_attention_heads", HEADS);
    c.put("intermediate_size", I);
    c.put("vocab_size", V);
    c.put("max_position_embeddings", positions);
    c.put("type_vocab_size", 1);
    c.put("pad_token_id", type.equals("bert") ? 0 : PAD);
    c.put("layer_norm_eps", 1e-5);
    c.put("hidden_act", "gelu");
    return TinyEncoders.write(dir.resolve(name), c, new TinyEncoders.Weights(w, s));
  }

  private static final List<int[]> INPUTS = List.of(new int[] {0, 5, 9, 13, 2},
      new int[] {0, 7, 2}, new int[] {0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 2});

  @Test
  void robertaOffsetsPositionsAndMpnetMatchesItWithZeroRelativeBias() throws IOException {
    weights(3);
    // RoBERTa: prefixed names, a zero token-type row (so it adds nothing)
    Map<String, float[]> rw = new LinkedHashMap<>();
    Map<String, long[]> rs = new LinkedHashMap<>();
    base.forEach((k, v) -> {
      rw.put("roberta." + k, v);
      rs.put("roberta." + k, shapes.get(k));
    });
    rw.put("roberta.embeddings.token_type_embeddings.weight", new float[H]);
    rs.put("roberta.embeddings.token_type_embeddings.weight", new long[] {1, H});
    Path roberta = write("roberta", "roberta", rw, rs, P);

    // BERT: the same weights with the position table shifted by padding_idx + 1
    Map<String, float[]> bw = new LinkedHashMap<>(base);
    Map<String, long[]> bs = new LinkedHashMap<>(shapes);
    int off = PAD + 1;
    float[] pos = base.get("embeddings.position_embeddings.weight");
    float[] shifted = new float[(P - off) * H];
    System.arraycopy(pos, off * H, shifted, 0, shifted.length);
    bw.put("embeddings.position_embeddings.weight", shifted);
    bs.put("embeddings.position_embeddings.weight", new long[] {P - off, H});
    Path bert = write("bert", "bert", bw, bs, P - off);

    // MPNet: MPNet names, no token types, a zero relative attention bias table (32 buckets)
    Map<String, float[]> mw = new LinkedHashMap<>();
    Map<String, long[]> ms = new LinkedHashMap<>();
    base.forEach((k, v) -> {
      String n = k.replace("attention.self.query", "attention.attn.q")
          .replace("attention.self.key", "attention.attn.k")
          .replace("attention.self.value", "attention.attn.v")
          .replace("attention.output.dense", "attention.attn.o")
          .replace("attention.output.LayerNorm", "attention.LayerNorm");
      mw.put("mpnet." + n, v);
      ms.put("mpnet." + n, shapes.get(k));
    });
    mw.put("mpnet.encoder.relative_attention_bias.weight", new float[32 * HEADS]);
    ms.put("mpnet.encoder.relative_attention_bias.weight", new long[] {32, HEADS});
    Path mpnet = write("mpnet", "mpnet", mw, ms, P);

    try (Encoder r = Architectures.loadEncoder(roberta, LoadOptions.cpu());
        Encoder b = Architectures.loadEncoder(bert, LoadOptions.cpu());
        Encoder m = Architectures.loadEncoder(mpnet, LoadOptions.cpu())) {
      assertEquals("RobertaModel", r.spec().architecture());
      assertEquals(P - PAD - 1, r.spec().maxPositions(), "positions net of the offset");
      assertEquals("MPNetModel", m.spec().architecture());
      float[][] rv = r.embed(INPUTS, Pooling.MEAN, false);
      float[][] bv = b.embed(INPUTS, Pooling.MEAN, false);
      float[][] mv = m.embed(INPUTS, Pooling.MEAN, false);
      for (int i = 0; i < INPUTS.size(); i++) {
        assertArrayEquals(bv[i], rv[i], 1e-5f, "roberta vs shifted bert, row " + i);
        assertArrayEquals(rv[i], mv[i], 1e-5f, "mpnet (zero bias) vs roberta, row " + i);
        float[] alone = m.embed(List.of(INPUTS.get(i)), Pooling.MEAN, false)[0];
        assertArrayEquals(alone, mv[i], 1e-5f, "mpnet batched vs single, row " + i);
      }
      EngineException tooLong = assertThrows(EngineException.class,
          () -> r.embed(List.of(new int[P - 1]), Pooling.CLS, true));
      assertTrue(tooLong.getMessage().contains("at most " + (P - 2)), tooLong.getMessage());
      EngineException badId = assertThrows(EngineException.class,
          () -> r.embed(List.of(new int[] {0, V, 2}), Pooling.CLS, true));
      assertTrue(badId.getMessage().contains("outside the vocabulary"), badId.getMessage());
    }

    // a non-zero relative bias changes MPNet's output, and batching still matches single runs
    Random rnd = new Random(9);
    float[] rel = new float[32 * HEADS];
    for (int k = 0; k < rel.length; k++) {
      rel[k] = (float) rnd.nextGaussian();
    }
    mw.put("mpnet.encoder.relative_attention_bias.weight", rel);
    Path mpnet2 = write("mpnet2", "mpnet", mw, ms, P);
    try (Encoder m = Architectures.loadEncoder(mpnet, LoadOptions.cpu());
        Encoder m2 = Architectures.loadEncoder(mpnet2, LoadOptions.cpu())) {
      float[][] all = m2.embed(INPUTS, Pooling.CLS, true);
      for (int i = 0; i < INPUTS.size(); i++) {
        assertArrayEquals(m2.embed(List.of(INPUTS.get(i)), Pooling.CLS, true)[0], all[i], 1e-5f);
      }
      float[] zero = m.embed(List.of(INPUTS.get(0)), Pooling.CLS, true)[0];
      double diff = 0;
      for (int d = 0; d < H; d++) {
        diff = Math.max(diff, Math.abs(zero[d] - all[0][d]));
      }
      assertTrue(diff > 1e-3, "relative position bias is applied");
    }
  }

  @Test
  void mpnetRelativeBucketsFollowTheT5Formula() {
    // 32 buckets: 16 per direction, exact below 8, logarithmic up to 128
    assertEquals(0, RelativePositionBias.bucket(0, 32, 128));
    assertEquals(1, RelativePositionBias.bucket(-1, 32, 128)); // key one before the query
    assertEquals(17, RelativePositionBias.bucket(1, 32, 128)); // key one after
    assertEquals(7, RelativePositionBias.bucket(-7, 32, 128));
    assertEquals(8, RelativePositionBias.bucket(-8, 32, 128)); // 8 + int(log(1)/log(16)*8)
    assertEquals(9, RelativePositionBias.bucket(-12, 32, 128)); // 8 + int(log(1.5)/log(16)*8)
    assertEquals(15, RelativePositionBias.bucket(-200, 32, 128)); // capped
    assertEquals(31, RelativePositionBias.bucket(200, 32, 128));
  }

  @Test
  void unsupportedModelTypeNamesTheSupportedOnes() throws IOException {
    Path d = dir.resolve("t5");
    Files.createDirectories(d);
    Files.writeString(d.resolve("config.json"), "{\"model_type\":\"t5\"}");
    EngineException e = assertThrows(EngineException.class,
        () -> Architectures.loadEncoder(d, LoadOptions.cpu()));
    assertTrue(e.getMessage().contains("bert, roberta"), e.getMessage());
  }
}
