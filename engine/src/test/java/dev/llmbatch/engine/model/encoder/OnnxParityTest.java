package dev.llmbatch.engine.model.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.Pooling;
import dev.llmbatch.engine.runtime.ComputeDtype;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Our engine on the imported flavor against onnxruntime on the original ONNX graph, for real
 * models from Maven Central (MiniLM, BGE, E5): cosine ≥ 0.9999 for every sentence run in padded
 * batches of 8, and batched runs equal single runs (checked on every long input and a quarter of
 * the short ones, to keep the test's CI time down).
 */
class OnnxParityTest {

  @ParameterizedTest
  @EnumSource(RealEncoders.Model.class)
  void engineMatchesOnnxRuntime(RealEncoders.Model model) throws Exception {
    List<String> sentences = RealEncoders.sentences(model);
    assertTrue(sentences.size() >= 50);
    Pooling pooling = model.pooling == dev.llmbatch.flavor.hf.PoolingMode.CLS ? Pooling.CLS
        : Pooling.MEAN;
    HuggingFaceTokenizer tok = RealEncoders.tokenizer(model);
    List<int[]> ids = new ArrayList<>();
    for (String s : sentences) {
      ids.add(RealEncoders.ids(tok, s));
    }
    assertTrue(ids.stream().anyMatch(a -> a.length >= 256), "some inputs have 256+ tokens");
    try (Encoder enc = Encoders.load(RealEncoders.flavor(model).resolve("model"), Device.cpu(),
            ComputeDtype.FP32);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setIntraOpNumThreads(2);
      try (OrtSession ort = env.createSession(RealEncoders.onnxBytes(model), opts)) {
        // batched runs in groups of 8 consecutive inputs of mixed lengths (padding exercised)
        float[][] batched = new float[ids.size()][];
        for (int g = 0; g < ids.size(); g += 8) {
          List<int[]> group = ids.subList(g, Math.min(ids.size(), g + 8));
          float[][] out = enc.embed(group, pooling, true);
          System.arraycopy(out, 0, batched, g, out.length);
        }
        double worst = 1;
        for (int i = 0; i < ids.size(); i++) {
          float[] ref = pool(runOrt(env, ort, ids.get(i)), pooling);
          double cos = cosine(ref, batched[i]);
          worst = Math.min(worst, cos);
          assertTrue(cos >= 0.9999, model + " sentence " + i + " (" + ids.get(i).length
              + " tokens) cosine " + cos);
          if (i % 4 != 0 && ids.get(i).length < 256) {
            continue; // single runs on a quarter of the short inputs and every long one: CI time
          }
          float[] ours = enc.embed(List.of(ids.get(i)), pooling, true)[0];
          assertTrue(cosine(ref, ours) >= 0.9999, model + " single run, sentence " + i);
          for (int d = 0; d < ours.length; d++) {
            assertEquals(ours[d], batched[i][d], 1e-5, model + " batched vs single " + i);
          }
        }
        System.out.printf("%s: %d sentences, worst cosine vs onnxruntime %.7f%n", model,
            ids.size(), worst);
      }
    }
  }

  /** last_hidden_state (T, H) of one unpadded sequence. */
  static float[][] runOrt(OrtEnvironment env, OrtSession ort, int[] ids) throws Exception {
    long[][] in = new long[1][ids.length];
    long[][] mask = new long[1][ids.length];
    long[][] types = new long[1][ids.length];
    for (int i = 0; i < ids.length; i++) {
      in[0][i] = ids[i];
      mask[0][i] = 1;
    }
    try (OnnxTensor a = OnnxTensor.createTensor(env, in);
        OnnxTensor b = OnnxTensor.createTensor(env, mask);
        OnnxTensor c = OnnxTensor.createTensor(env, types);
        OrtSession.Result r = ort.run(Map.of("input_ids", a, "attention_mask", b,
            "token_type_ids", c))) {
      return ((float[][][]) r.get(0).getValue())[0];
    }
  }

  static float[] pool(float[][] h, Pooling pooling) {
    float[] v = new float[h[0].length];
    if (pooling == Pooling.CLS) {
      v = h[0].clone();
    } else {
      for (float[] row : h) {
        for (int d = 0; d < v.length; d++) {
          v[d] += row[d] / h.length;
        }
      }
    }
    double n = 0;
    for (float x : v) {
      n += x * (double) x;
    }
    for (int d = 0; d < v.length; d++) {
      v[d] /= (float) Math.sqrt(n);
    }
    return v;
  }

  static double cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * (double) b[i];
      na += a[i] * (double) a[i];
      nb += b[i] * (double) b[i];
    }
    return dot / Math.sqrt(na * nb);
  }
}
