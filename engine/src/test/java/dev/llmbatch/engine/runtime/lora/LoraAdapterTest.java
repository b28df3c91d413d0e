package dev.llmbatch.engine.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.runtime.TorchRuntime;
import dev.llmbatch.engine.runtime.Weights;
import dev.llmbatch.flavor.safetensors.SafetensorsWriter;
import dev.llmbatch.flavor.safetensors.SafetensorsWriter.Tensor;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny base checkpoint and a PEFT adapter written by the test with random weights; each merged
 * weight must equal {@code W + B·A·scale} computed here, in double, from the same numbers.
 */
class LoraAdapterTest {
  private static final String Q = "model.layers.0.self_attn.q_proj.weight";
  private static final String K = "model.layers.0.self_attn.k_proj.weight";
  private static final String V = "model.layers.0.self_attn.v_proj.weight";
  private static final String EMB = "model.embed_tokens.weight";
  private static final String HEAD = "lm_head.weight";
  private static final int OUT = 6;
  private static final int IN = 5;
  private static final int R = 4;

  @TempDir Path tmp;
  private final Random random = new Random(7);

  @BeforeAll
  static void engine() {
    TorchRuntime.engine(1);
  }

  private float[] rand(int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }

  private static Map<String, Object> config(Object targets, double alpha, boolean fanInFanOut) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("peft_type", "LORA");
    c.put("r", R);
    c.put("lora_alpha", alpha);
    c.put("target_modules", targets);
    c.put("fan_in_fan_out", fanInFanOut);
    c.put("bias", "none");
    c.put("base_model_name_or_path", "tiny-base");
    return c;
  }

  private Path adapter(Map<String, Object> config, Map<String, Tensor> tensors) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("peft"));
    Files.writeString(dir.resolve(LoraConfig.FILE_NAME), new ObjectMapper().writeValueAsString(config));
    SafetensorsWriter.write(dir.resolve(LoraAdapter.WEIGHTS_FILE), tensors, Map.of("format", "pt"));
    return dir;
  }

  private Path base(Map<String, Tensor> tensors) {
    Path dir = tmp.resolve("base");
    SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
    return dir;
  }

  /** {@code w[rows][cols] + scale * (b[rows][r] @ a[r][cols])}, transposed when asked, in double. */
  private static float[] expected(float[] w, float[] b, float[] a, int out, int in, double scale,
      boolean transpose) {
    float[] e = new float[out * in];
    for (int o = 0; o < out; o++) {
      for (int i = 0; i < in; i++) {
        double d = 0;
        for (int k = 0; k < R; k++) {
          d += (double) b[o * R + k] * a[k * in + i];
        }
        int idx = transpose ? i * out + o : o * in + i;
        e[idx] = (float) (w[idx] + scale * d);
      }
    }
    return e;
  }

  private float[] load(Path baseDir, LoraAdapter lora, String name) {
    try (WeightFiles files = WeightFiles.open(baseDir); NDManager m = NDManager.newBaseManager()) {
      return new Weights(files, m, ComputeDtype.FP32, lora).get(name).toFloatArray();
    }
  }

  @Test
  void mergesEachTargetModuleAsWPlusBATimesAlphaOverR() throws IOException {
    float[] q = rand(OUT * IN), k = rand(OUT * IN), v = rand(OUT * IN);
    float[] qa = rand(R * IN), qb = rand(OUT * R), va = rand(R * IN), vb = rand(OUT * R);
    Path baseDir = base(Map.of(Q, Tensor.f32(new long[] {OUT, IN}, q),
        K, Tensor.f32(new long[] {OUT, IN}, k), V, Tensor.f32(new long[] {OUT, IN}, v)));
    Map<String, Tensor> t = new LinkedHashMap<>();
    t.put("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", Tensor.f32(new long[] {R, IN}, qa));
    t.put("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", Tensor.f32(new long[] {OUT, R}, qb));
    // an adapter-name segment, as un-renamed state dicts carry it
    t.put("base_model.model.model.layers.0.self_attn.v_proj.lora_A.default.weight", Tensor.f32(new long[] {R, IN}, va));
    t.put("base_model.model.model.layers.0.self_attn.v_proj.lora_B.default.weight", Tensor.f32(new long[] {OUT, R}, vb));
    try (LoraAdapter lora = LoraAdapter.open(adapter(config(List.of("q_proj", "v_proj"), 8, false), t))) {
      assertEquals(2.0, lora.config().scale("model.layers.0.self_attn.q_proj"));
      assertArrayEquals(expected(q, qb, qa, OUT, IN, 2.0, false), load(baseDir, lora, Q), 1e-5f);
      assertArrayEquals(expected(v, vb, va, OUT, IN, 2.0, false), load(baseDir, lora, V), 1e-5f);
      assertArrayEquals(k, load(baseDir, lora, K), 0f);
      lora.checkAllApplied();
    }
  }

  @Test
  void fanInFanOutWeightsGetTheTransposedDelta() throws IOException {
    String c = "transformer.h.0.attn.c_attn.weight";
    float[] w = rand(IN * OUT), a = rand(R * IN), b = rand(OUT * R);
    Path baseDir = base(Map.of(c, Tensor.f32(new long[] {IN, OUT}, w))); // Conv1D: (in, out)
    Path dir = adapter(config(List.of("c_attn"), 16, true), Map.of(
        "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", Tensor.f32(new long[] {R, IN}, a),
        "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight", Tensor.f32(new long[] {OUT, R}, b)));
    try (LoraAdapter lora = LoraAdapter.open(dir)) {
      assertArrayEquals(expected(w, b, a, OUT, IN, 4.0, true), load(baseDir, lora, c), 1e-5f);
    }
  }

  @Test
  void bf16BaseRsLoraPatternsEmbeddingsAndModulesToSave() throws IOException {
    float[] q = rand(OUT * IN), emb = rand(10 * OUT), head = rand(10 * OUT);
    float[] qa = rand(R * IN), qb = rand(OUT * R), ea = rand(R * 10), eb = rand(OUT * R);
    float[] newHead = rand(10 * OUT);
    Tensor qBf16 = Tensor.bf16(new long[] {OUT, IN}, q);
    float[] qWidened = new float[q.length];
    java.nio.ByteBuffer bytes = java.nio.ByteBuffer.wrap(qBf16.data()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < q.length; i++) {
      qWidened[i] = Float.intBitsToFloat((bytes.getShort(2 * i) & 0xFFFF) << 16);
    }
    Path baseDir = base(Map.of(Q, qBf16, EMB, Tensor.f32(new long[] {10, OUT}, emb),
        HEAD, Tensor.f32(new long[] {10, OUT}, head)));
    Map<String, Object> cfg = config("model\\.(layers\\.\\d+\\.self_attn\\.q_proj|embed_tokens)", 8, false);
    cfg.put("use_rslora", true);
    cfg.put("alpha_pattern", Map.of("q_proj", 12));
    cfg.put("modules_to_save", List.of("lm_head"));
    Map<String, Tensor> t = new LinkedHashMap<>();
    t.put("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", Tensor.f32(new long[] {R, IN}, qa));
    t.put("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", Tensor.bf16(new long[] {OUT, R}, qb));
    t.put("base_model.model.model.embed_tokens.lora_embedding_A", Tensor.f32(new long[] {R, 10}, ea));
    t.put("base_model.model.model.embed_tokens.lora_embedding_B", Tensor.f32(new long[] {OUT, R}, eb));
    t.put("base_model.model.lm_head.weight", Tensor.f32(new long[] {10, OUT}, newHead));
    float[] qbBf16 = widen(Tensor.bf16(new long[] {OUT, R}, qb));
    try (LoraAdapter lora = LoraAdapter.open(adapter(cfg, t))) {
      // rsLoRA: alpha / sqrt(r); alpha_pattern overrides alpha for q_proj
      assertArrayEquals(expected(qWidened, qbBf16, qa, OUT, IN, 12 / 2.0, false),
          load(baseDir, lora, Q), 1e-5f);
      // embeddings: (B·A)ᵀ, shape (num_embeddings, dim), scale 8 / sqrt(4)
      assertArrayEquals(expected(emb, eb, ea, OUT, 10, 4.0, true), load(baseDir, lora, EMB), 1e-5f);
      assertArrayEquals(newHead, load(baseDir, lora, HEAD), 0f);
    }
  }

  private static float[] widen(Tensor bf16) {
    java.nio.ByteBuffer bytes = java.nio.ByteBuffer.wrap(bf16.data()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[bf16.data().length / 2];
    for (int i = 0; i < out.length; i++) {
      out[i] = Float.intBitsToFloat((bytes.getShort(2 * i) & 0xFFFF) << 16);
    }
    return out;
  }

  @Test
  void mismatchesAndUnsupportedAdaptersAreRefusedByName() throws IOException {
    float[] qa = rand(R * IN), qb = rand(OUT * R);
    Map<String, Tensor> t = Map.of(
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", Tensor.f32(new long[] {R, IN}, qa),
        "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", Tensor.f32(new long[] {OUT, R}, qb));
    // target_modules that do not cover the tensors
    String m1 = assertThrows(EngineException.class,
        () -> LoraAdapter.open(adapter(config(List.of("v_proj"), 8, false), t))).getMessage();
    assertTrue(m1.contains("model.layers.0.self_attn.q_proj") && m1.contains("[v_proj]"), m1);
    // DoRA
    Map<String, Object> dora = config(List.of("q_proj"), 8, false);
    dora.put("use_dora", true);
    String m2 = assertThrows(EngineException.class, () -> LoraAdapter.open(adapter(dora, t)))
        .getMessage();
    assertTrue(m2.contains("use_dora"), m2);
    // an adapter weight the architecture never loads
    try (LoraAdapter lora = LoraAdapter.open(adapter(config(List.of("q_proj"), 8, false), t))) {
      String m3 = assertThrows(EngineException.class, lora::checkAllApplied).getMessage();
      assertTrue(m3.contains(Q), m3);
      // a rank that does not match r
      Path baseDir = base(Map.of(Q, Tensor.f32(new long[] {OUT, IN}, rand(OUT * IN))));
      Map<String, Object> r2 = config(List.of("q_proj"), 8, false);
      r2.put("r", 2);
      try (LoraAdapter wrong = LoraAdapter.open(adapter(r2, t))) {
        String m4 = assertThrows(EngineException.class, () -> load(baseDir, wrong, Q)).getMessage();
        assertTrue(m4.contains(Q) && m4.contains("rank 2"), m4);
      }
    }
  }
}
