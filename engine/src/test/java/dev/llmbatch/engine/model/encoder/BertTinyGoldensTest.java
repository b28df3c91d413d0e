package dev.llmbatch.engine.model.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.Pooling;
import dev.llmbatch.engine.runtime.ComputeDtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** BertModel against Hugging Face transformers' own outputs for the bert-tiny fixture. */
class BertTinyGoldensTest {
  private static JsonNode goldens;
  private static Encoder encoder;

  static Path sharedDir() {
    String dir = System.getProperty("llmbatch.shared.dir");
    if (dir == null || !Files.isDirectory(Path.of(dir, "reference"))) {
      throw new IllegalStateException("Reference goldens missing: system property"
          + " llmbatch.shared.dir=" + dir + " must name the shared/ folder holding reference/");
    }
    return Path.of(dir);
  }

  @BeforeAll
  static void load() throws IOException {
    Path root = sharedDir().resolve("reference/bert-tiny");
    goldens = new ObjectMapper().readTree(root.resolve("goldens.json").toFile());
    encoder = Encoders.load(root.resolve(goldens.get("model_dir").asText()), Device.cpu(),
        ComputeDtype.FP32);
  }

  @AfterAll
  static void close() {
    encoder.close();
  }

  static int[] ints(JsonNode a) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).asInt();
    }
    return out;
  }

  static float[] floats(JsonNode a) {
    float[] out = new float[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) a.get(i).asDouble();
    }
    return out;
  }

  static void assertClose(float[] expected, float[] actual, int n, double tol, String what) {
    double cos = 0;
    double ne = 0;
    double na = 0;
    for (int i = 0; i < n; i++) {
      assertEquals(expected[i], actual[i], tol, what + " [" + i + "]");
      cos += expected[i] * (double) actual[i];
      ne += expected[i] * (double) expected[i];
      na += actual[i] * (double) actual[i];
    }
    assertTrue(cos / Math.sqrt(ne * na) >= 0.99999, what + " cosine " + cos / Math.sqrt(ne * na));
  }

  @Test
  void specFromConfig() {
    assertEquals("BertModel", encoder.spec().architecture());
    assertEquals(64, encoder.spec().hiddenSize());
    assertEquals(512, encoder.spec().maxPositions());
    assertTrue(encoder.spec().hasPooler());
    // 2 layers × (3·64² + 64² + 2·64·128) matmul weights
    assertEquals(2L * (4 * 64 * 64 + 2 * 64 * 128), encoder.spec().matmulParameters());
  }

  @Test
  void everyTextMatchesTransformersOneByOne() {
    for (JsonNode t : goldens.get("texts")) {
      String id = t.get("id").asText();
      List<int[]> one = List.of(ints(t.get("input_ids")));
      float[][] hidden = encoder.lastHiddenState(one)[0];
      JsonNode lhs = t.get("last_hidden_state");
      int dims = lhs.get("dims").asInt();
      for (int k = 0; k < lhs.get("positions").size(); k++) {
        int p = lhs.get("positions").get(k).asInt();
        float[] want = floats(lhs.get("values").get(k));
        for (int d = 0; d < dims; d++) {
          assertEquals(want[d], hidden[p][d], 1e-5, id + " h[" + p + "][" + d + "]");
        }
      }
      float[] mean = encoder.embed(one, Pooling.MEAN, true)[0];
      assertClose(floats(t.get("mean_pooled_l2_normalized")), mean, mean.length, 1e-5, id + " mean");
      float[] cls = encoder.embed(one, Pooling.CLS, true)[0];
      assertClose(floats(t.get("cls_l2_normalized")), cls, cls.length, 1e-5, id + " cls");
      float[] raw = encoder.embed(one, Pooling.CLS, false)[0];
      assertClose(floats(t.get("cls_raw")), raw, t.get("cls_raw").size(), 1e-5, id + " cls_raw");
      float[] pooler = encoder.poolerOutput(one)[0];
      assertClose(floats(t.get("pooler_output_first8")), pooler, 8, 1e-5, id + " pooler");
    }
  }

  @Test
  void rightPaddedBatchMatchesSingles() {
    JsonNode b = goldens.get("batch_right_padding");
    List<int[]> rows = new ArrayList<>();
    List<JsonNode> texts = new ArrayList<>();
    for (JsonNode id : b.get("text_ids")) {
      for (JsonNode t : goldens.get("texts")) {
        if (t.get("id").asText().equals(id.asText())) {
          rows.add(ints(t.get("input_ids")));
          texts.add(t);
        }
      }
    }
    assertEquals(3, rows.size());
    float[][] batched = encoder.embed(rows, Pooling.MEAN, true);
    float[][][] hidden = encoder.lastHiddenState(rows);
    for (int i = 0; i < rows.size(); i++) {
      float[] single = encoder.embed(List.of(rows.get(i)), Pooling.MEAN, true)[0];
      assertClose(single, batched[i], single.length, 1e-5, "batched row " + i);
      assertClose(floats(texts.get(i).get("mean_pooled_l2_normalized")), batched[i],
          single.length, 1e-5, "batched golden row " + i);
      float[][] alone = encoder.lastHiddenState(List.of(rows.get(i)))[0];
      assertEquals(rows.get(i).length, hidden[i].length);
      for (int p = 0; p < alone.length; p++) {
        assertClose(alone[p], hidden[i][p], alone[p].length, 1e-5, "hidden row " + i + " pos " + p);
      }
    }
    // max pooling and last-token pooling over a padded batch ignore the padding too
    for (Pooling p : new Pooling[] {Pooling.MAX, Pooling.LASTTOKEN}) {
      float[][] all = encoder.embed(rows, p, false);
      for (int i = 0; i < rows.size(); i++) {
        float[] single = encoder.embed(List.of(rows.get(i)), p, false)[0];
        assertClose(single, all[i], single.length, 1e-5, p + " row " + i);
      }
    }
    float[] last = encoder.embed(List.of(rows.get(2)), Pooling.LASTTOKEN, false)[0];
    float[][] h = encoder.lastHiddenState(List.of(rows.get(2)))[0];
    assertClose(h[h.length - 1], last, last.length, 0, "last token");
    assertFalse(Float.isNaN(last[0]));
  }

  /**
   * Rows of near-equal length share one padded, masked attention rectangle (a gather in, a
   * scatter out), rows of one length a plain slice; either way each row's result is its own.
   */
  @Test
  void packedAttentionGroupsGiveEachRowItsOwnResult() {
    int[] lengths = {9, 40, 2, 37, 9, 36};
    java.util.Random r = new java.util.Random(7);
    List<int[]> rows = new ArrayList<>();
    for (int len : lengths) {
      int[] ids = new int[len];
      for (int p = 0; p < len; p++) {
        ids[p] = 1 + r.nextInt(encoder.spec().vocabSize() - 1);
      }
      rows.add(ids);
    }
    Path dir = sharedDir().resolve("reference/bert-tiny").resolve(goldens.get("model_dir").asText());
    try (ai.djl.ndarray.NDManager m =
        dev.llmbatch.engine.runtime.TorchRuntime.engine().newBaseManager()) {
      PackedBatch packed = PackedBatch.of(rows, EncoderConfig.read(dir), m, null, false);
      assertEquals(List.of(3, 2, 1), packed.groups().stream().map(PackedBatch.Group::rows).toList());
      assertTrue(packed.groups().get(0).keyMask() != null, "40/37/36 share a masked rectangle");
      assertTrue(packed.groups().get(1).gather() == null, "9/9 is a slice");
      assertEquals(List.of(1, 3, 5, 0, 4, 2), java.util.Arrays.stream(packed.order()).boxed().toList());
    }
    for (Pooling p : Pooling.values()) {
      float[][] all = encoder.embed(rows, p, p == Pooling.MEAN);
      for (int i = 0; i < rows.size(); i++) {
        float[] single = encoder.embed(List.of(rows.get(i)), p, p == Pooling.MEAN)[0];
        assertClose(single, all[i], single.length, 1e-5, p + " row " + i);
      }
    }
    float[][][] hidden = encoder.lastHiddenState(rows);
    for (int i = 0; i < rows.size(); i++) {
      float[][] alone = encoder.lastHiddenState(List.of(rows.get(i)))[0];
      assertEquals(lengths[i], hidden[i].length);
      for (int q = 0; q < alone.length; q++) {
        assertClose(alone[q], hidden[i][q], alone[q].length, 1e-5, "hidden row " + i + " pos " + q);
      }
    }
  }
}
