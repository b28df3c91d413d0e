package dev.llmbatch.engine.model.decoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.KvCache;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.flavor.safetensors.SafetensorsFile;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Parity with Hugging Face transformers 4.46.3 (FP32, eager) on the shared tiny Llama: logits
 * |Δ| ≤ 1e-4, token ids exact (greedy compared up to the near-tie steps the README names).
 */
class LlamaReferenceTest {
  static final double TOL = 1e-4;
  static Path fixture;
  static JsonNode goldens;
  static CausalLm model;

  @BeforeAll
  static void load() throws IOException {
    fixture = sharedDir().resolve("reference/llama");
    goldens = new ObjectMapper().readTree(fixture.resolve("goldens.json").toFile());
    // one thread: the test machine is shared, and spinning OpenMP threads only slow each other
    model = Architectures.loadCausalLm(fixture.resolve("mlflow/model"),
        new LoadOptions("cpu", ComputeDtype.FP32, 1));
  }

  @AfterAll
  static void close() {
    model.close();
  }

  /** The shared folder from Surefire's llmbatch.shared.dir; missing is a failure, not a skip. */
  static Path sharedDir() {
    String dir = System.getProperty("llmbatch.shared.dir");
    if (dir == null || !Files.isDirectory(Path.of(dir, "reference", "llama"))) {
      throw new IllegalStateException("Reference goldens missing: set -Dllmbatch.shared.dir to the"
          + " shared folder holding reference/llama (got " + dir + ")");
    }
    return Path.of(dir);
  }

  static int[] ints(JsonNode a) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).asInt();
    }
    return out;
  }

  /** Checks logits against a golden LOGITS object. */
  static void assertLogits(JsonNode gold, float[] logits, String what) {
    JsonNode ids = gold.get("top10_ids");
    for (int i = 0; i < ids.size(); i++) {
      assertEquals(gold.get("top10_values").get(i).asDouble(), logits[ids.get(i).asInt()], TOL,
          what + " top10 #" + i);
    }
    JsonNode fixed = gold.get("fixed_ids");
    for (int i = 0; i < fixed.size(); i++) {
      assertEquals(gold.get("fixed_values").get(i).asDouble(), logits[fixed.get(i).asInt()], TOL,
          what + " fixed id " + fixed.get(i));
    }
    double sum = 0;
    double max = Double.NEGATIVE_INFINITY;
    int argmax = 0;
    for (int i = 0; i < logits.length; i++) {
      sum += logits[i];
      if (logits[i] > max) {
        max = logits[i];
        argmax = i;
      }
    }
    double lse = 0;
    for (float v : logits) {
      lse += Math.exp(v - max);
    }
    assertEquals(gold.get("mean").asDouble(), sum / logits.length, TOL, what + " mean");
    assertEquals(gold.get("logsumexp").asDouble(), max + Math.log(lse), TOL, what + " logsumexp");
    assertEquals(gold.get("argmax").asInt(), argmax, what + " argmax");
  }

  static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }

  @Test
  void lastLogitsOfEveryPromptAndChatMatchTransformers() {
    try (KvCache cache = model.allocateCache(1, 256)) {
      for (String group : List.of("prompts", "chats")) {
        for (JsonNode item : goldens.get(group)) {
          float[] logits = model.step(cache, List.of(new StepInput(0, 0,
              ints(item.get("input_ids")))))[0];
          assertEquals(151669, logits.length);
          assertLogits(item.get("last_logits"), logits, item.get("id").asText());
        }
      }
    }
  }

  @Test
  void tokenByTokenDecodeGivesThePositionArgmaxes() {
    try (KvCache cache = model.allocateCache(1, 256)) {
      for (JsonNode item : goldens.get("prompts")) {
        int[] ids = ints(item.get("input_ids"));
        if (ids.length > 80) {
          continue; // the long prompts' last positions are covered by the prefill tests
        }
        for (int p = 0; p < ids.length; p++) {
          float[] logits = model.step(cache, List.of(new StepInput(0, p, new int[] {ids[p]})))               [0];
          String what = item.get("id").asText() + " position " + p;
          assertEquals(item.get("position_max").get(p).asDouble(), logits[argmax(logits)], TOL,
              what);
          assertEquals(item.get("position_argmax").get(p).asInt(), argmax(logits), what);
        }
      }
    }
  }

  @Test
  void fullVocabLogitsOfTheLongPromptMatch() {
    JsonNode item = null;
    for (JsonNode p : goldens.get("prompts")) {
      if (p.get("id").asText().equals("p5_long_en")) {
        item = p;
      }
    }
    float[] expected;
    try (SafetensorsFile f = SafetensorsFile.open(fixture.resolve("full_logits.safetensors"))) {
      FloatBuffer fb = f.data("p5_long_en.last_logits").order(ByteOrder.LITTLE_ENDIAN)
          .asFloatBuffer();
      expected = new float[fb.remaining()];
      fb.get(expected);
    }
    try (KvCache cache = model.allocateCache(1, 256)) {
      float[] logits = model.step(cache, List.of(new StepInput(0, 0,
          ints(item.get("input_ids")))))[0];
      assertArrayEquals(expected, logits, (float) TOL);
    }
  }

  @Test
  void greedyDecodeMatchesUpToTheNearTies() {
    try (KvCache cache = model.allocateCache(1, 256)) {
      for (JsonNode item : goldens.get("prompts")) {
        JsonNode greedy = item.get("greedy");
        int[] prompt = ints(item.get("input_ids"));
        int[] expected = ints(greedy.get("new_token_ids"));
        float[] logits = model.step(cache, List.of(new StepInput(0, 0, prompt)))[0];
        int pos = prompt.length;
        for (int s = 0; s < expected.length; s++) {
          if (greedy.get("step_top1_minus_top2").get(s).asDouble() < 1e-3) {
            break; // a near tie: FP32 summation order may pick either, so stop comparing here
          }
          int next = argmax(logits);
          assertEquals(expected[s], next, item.get("id").asText() + " step " + s);
          assertEquals(greedy.get("step_top1_logit").get(s).asDouble(), logits[next], TOL);
          logits = model.step(cache, List.of(new StepInput(0, pos++, new int[] {next})))[0];
        }
      }
    }
  }

  @Test
  void raggedBatchMatchesTheLeftPaddedBatchRows() {
    JsonNode batch = goldens.get("batch_left_padding");
    List<StepInput> inputs = new ArrayList<>();
    List<JsonNode> golds = new ArrayList<>();
    int slot = 0;
    for (JsonNode row : batch.get("rows")) {
      String id = row.get("prompt_id").asText();
      for (JsonNode p : goldens.get("prompts")) {
        if (p.get("id").asText().equals(id)) {
          inputs.add(new StepInput(slot++, 0, ints(p.get("input_ids"))));
        }
      }
      golds.add(row.get("last_logits_batched"));
    }
    assertEquals(2, inputs.size());
    try (KvCache cache = model.allocateCache(2, 128)) {
      float[][] logits = model.step(cache, inputs);
      for (int i = 0; i < logits.length; i++) {
        assertLogits(golds.get(i), logits[i], "batched row " + i);
      }
      // and the batched greedy continuations, decoded together
      int[][] expected = new int[2][];
      for (int i = 0; i < 2; i++) {
        expected[i] = ints(batch.get("greedy_batched_new_token_ids").get(i));
      }
      int[] pos = {inputs.get(0).tokens().length, inputs.get(1).tokens().length};
      for (int s = 0; s < 24; s++) {
        List<StepInput> next = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
          int tok = argmax(logits[i]);
          assertEquals(expected[i][s], tok, "row " + i + " step " + s);
          next.add(new StepInput(i, pos[i]++, new int[] {tok}));
        }
        logits = model.step(cache, next);
      }
    }
  }

  @Test
  void ropeInvFreqIsTheOneTransformersUsed() {
    LlamaForCausalLM.config(goldens.get("model_config_summary"), fixture);
    float[] inv = LlamaForCausalLM.config(goldens.get("model_config_summary"), fixture).rope()
        .invFreq(1);
    JsonNode used = goldens.get("rope").get("inv_freq_used");
    assertEquals(used.size(), inv.length);
    for (int i = 0; i < inv.length; i++) {
      assertEquals((float) used.get(i).asDouble(), inv[i], 0f, "inv_freq[" + i + "]");
    }
    assertTrue(goldens.get("rope").get("attention_scaling").asDouble() == 1.0);
  }
}
