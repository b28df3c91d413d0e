package dev.llmbatch.engine.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.KvCache;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.runtime.TorchRuntime;
import dev.llmbatch.engine.runtime.Weights;
import dev.llmbatch.flavor.LoggedModel;
import dev.llmbatch.flavor.hf.HfCache;
import dev.llmbatch.flavor.lifecycle.LogRequest;
import dev.llmbatch.flavor.lifecycle.ModelLogger;
import dev.llmbatch.flavor.safetensors.DType;
import dev.llmbatch.flavor.safetensors.SafetensorsWriter;
import dev.llmbatch.flavor.safetensors.SafetensorsWriter.Tensor;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import dev.llmbatch.flavor.sample.SampleModels;
import dev.llmbatch.flavor.sample.SampleTokenizers;
import dev.llmbatch.flavor.sample.SampleModels.LlamaSizes;
import dev.llmbatch.flavor.uri.MlflowEnvironment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A logged flavor with {@code peft_adaptor}: a tiny BF16 Llama logged by {@code log --peft} with a
 * LoRA adapter on q_proj and v_proj of both layers; loading through the flavor merges each target
 * to {@code W + B·A·alpha/r}, computed here from the raw checkpoint bytes.
 */
class LoraFlavorTest {
  @TempDir Path tmp;

  @Test
  void aLoggedPeftModelLoadsWithTheAdapterMerged() throws Exception {
    Path ckpt = tmp.resolve("ckpt");
    int vocab = SampleTokenizers.writeWordLevel(ckpt, SampleTokenizers.sampleWords(),
        SampleTokenizers.CHATML_TEMPLATE);
    SampleModels.writeLlama(ckpt, LlamaSizes.tiny(vocab), DType.BF16, 5);
    int r = 4;
    double alpha = 16;
    Random rnd = new Random(3);
    Path peft = Files.createDirectories(tmp.resolve("adapter"));
    Map<String, Tensor> t = new LinkedHashMap<>();
    Map<String, float[][]> ab = new LinkedHashMap<>();
    for (int layer = 0; layer < 2; layer++) {
      for (String proj : List.of("q_proj", "v_proj")) {
        String module = "model.layers." + layer + ".self_attn." + proj;
        int out = proj.equals("q_proj") ? 16 : 8;
        float[] a = gaussian(rnd, r * 16);
        float[] b = gaussian(rnd, out * r);
        t.put("base_model.model." + module + ".lora_A.weight", Tensor.f32(new long[] {r, 16}, a));
        t.put("base_model.model." + module + ".lora_B.weight", Tensor.f32(new long[] {out, r}, b));
        ab.put(module + ".weight", new float[][] {a, b});
      }
    }
    SafetensorsWriter.write(peft.resolve("adapter_model.safetensors"), t, Map.of("format", "pt"));
    Files.writeString(peft.resolve("adapter_config.json"), new ObjectMapper().writeValueAsString(
        Map.of("peft_type", "LORA", "r", r, "lora_alpha", alpha, "target_modules",
            List.of("q_proj", "v_proj"), "fan_in_fan_out", false, "bias", "none",
            "base_model_name_or_path", ckpt.toString(), "task_type", "CAUSAL_LM")));
    Path out = tmp.resolve("logged");
    new ModelLogger(MlflowEnvironment.of(Map.of(), tmp)).log(new LogRequest(ckpt, "llm/v1/chat",
        out, null, Map.of(), null, null, null, peft, false));

    LoggedModel model = LoggedModel.open(out, HfCache.at(tmp.resolve("no-cache")));
    assertEquals("peft", model.flavor().peftAdaptor());
    assertEquals(Boolean.TRUE, model.flavor().hasLocalBaseModelPath());
    TorchRuntime.engine(1);
    try (LoraAdapter lora = LoraAdapter.of(model).orElseThrow();
        WeightFiles files = model.openWeights(); NDManager m = NDManager.newBaseManager()) {
      Weights weights = new Weights(files, m, ComputeDtype.FP32, lora);
      for (Map.Entry<String, float[][]> e : ab.entrySet()) {
        String name = e.getKey();
        long[] shape = files.info(name).shape();
        int rows = (int) shape[0];
        int cols = (int) shape[1];
        float[] w = bf16(files.data(name), rows * cols);
        float[] a = e.getValue()[0];
        float[] b = e.getValue()[1];
        float[] expected = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
          for (int j = 0; j < cols; j++) {
            double d = 0;
            for (int k = 0; k < r; k++) {
              d += (double) b[i * r + k] * a[k * cols + j];
            }
            expected[i * cols + j] = (float) (w[i * cols + j] + alpha / r * d);
          }
        }
        assertArrayEquals(expected, weights.get(name, rows, cols).toFloatArray(), 1e-4f, name);
      }
      // an untargeted weight is the checkpoint's, bit for bit
      String k = "model.layers.0.self_attn.k_proj.weight";
      assertArrayEquals(bf16(files.data(k), 8 * 16), weights.get(k).toFloatArray(), 0f);
      lora.checkAllApplied();
      assertTrue(lora.unapplied().isEmpty());

      // End to end: the decoder loaded with the flavor's adapter computes exactly what a plain
      // checkpoint holding W + B·A·scale (written out here) computes, and differs from the base.
      Path merged = Files.createDirectories(tmp.resolve("merged"));
      Files.copy(model.weightsDir().resolve("config.json"), merged.resolve("config.json"));
      Map<String, Tensor> all = new LinkedHashMap<>();
      for (String name : files.tensors().keySet()) {
        long[] shape = files.info(name).shape();
        all.put(name, Tensor.f32(shape, weights.get(name).toFloatArray()));
      }
      SafetensorsWriter.write(merged.resolve("model.safetensors"), all, Map.of("format", "pt"));
      LoadOptions cpu = new LoadOptions("cpu", ComputeDtype.FP32, 1);
      int[] prompt = {1, 5, 9, 2, 7};
      float[] adapted = lastLogits(model.weightsDir(), cpu.withPeft(model.peftDir().get()), prompt);
      float[] reference = lastLogits(merged, cpu, prompt);
      float[] base = lastLogits(model.weightsDir(), cpu, prompt);
      assertArrayEquals(reference, adapted, 1e-4f);
      double diff = 0;
      for (int i = 0; i < base.length; i++) {
        diff = Math.max(diff, Math.abs(base[i] - adapted[i]));
      }
      assertTrue(diff > 1e-3, "the adapter must change the logits, max |Δ| = " + diff);
    }
  }

  private static float[] lastLogits(Path dir, LoadOptions options, int[] prompt) {
    try (CausalLm lm = Architectures.loadCausalLm(dir, options);
        KvCache cache = lm.allocateCache(1, 16)) {
      return lm.step(cache, List.of(new StepInput(0, 0, prompt)))[0];
    }
  }

  private static float[] gaussian(Random rnd, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) rnd.nextGaussian() * 0.5f;
    }
    return v;
  }

  private static float[] bf16(ByteBuffer data, int n) {
    ByteBuffer b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xFFFF) << 16);
    }
    return out;
  }
}
