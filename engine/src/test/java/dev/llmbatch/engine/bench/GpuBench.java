package dev.llmbatch.engine.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.engine.api.EmbeddingRequest;
import dev.llmbatch.engine.api.EmbeddingResponse;
import dev.llmbatch.engine.api.RequestKey;
import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.DecoderSpec;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.KvCache;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.Pooling;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.model.encoder.Encoders;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.runtime.TorchRuntime;
import dev.llmbatch.engine.serve.LoadedModel;
import dev.llmbatch.engine.serve.ServeOptions;
import dev.llmbatch.engine.testing.TinyDecoders;
import dev.llmbatch.engine.testing.TinyEmbedders;
import dev.llmbatch.engine.testing.TinyEncoders;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * The GPU check and benchmark (a program, not a test: CI has no GPU). On a CUDA device it checks
 * the engine against Hugging Face transformers' own logits (the shared tiny Llama with the real
 * Qwen3 tokenizer) in FP32 and FP16, every decoder architecture and a BERT encoder against the same
 * model on the CPU, embeddings through the serving path ({@code LoadedModel}) against the CPU's,
 * and then measures prefill and decode of a ~100M-parameter Llama at batch 1 to
 * 256 against the device's measured roofline. Every check prints PASS or FAIL with its numbers; the
 * exit status is the number of failures.
 *
 * <p>Run: {@code submit-scripts/bench gpu [device=gpu] [shared=DIR]
 * [sections=ref,arch,encoder,serve,decode] [batches=1,8,32,128,256]} with the environment README
 * "GPUs" gives ({@code PYTORCH_LIBRARY_PATH} at a CUDA libtorch with DJL's JNI beside it).
 * {@code ref} reads {@code DIR/reference/llama}
 * (default: system property {@code llmbatch.shared.dir}, else {@code ../shared}). With
 * {@code device=cpu} it is a dry run of the same code in FP32 only.
 */
public final class GpuBench {
  /** libtorch CPU threads (the CPU references, the GPU host side): system property threads. */
  private static final int THREADS =
      Integer.getInteger("threads", Math.min(8, Runtime.getRuntime().availableProcessors()));
  private static int failures;
  /** The dtypes checked on the device: FP16 is GPU-only, so a CPU dry run checks FP32 alone. */
  private static List<ComputeDtype> dtypes = List.of(ComputeDtype.FP32, ComputeDtype.FP16);

  private GpuBench() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new LinkedHashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      a.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    String device = a.getOrDefault("device", "gpu");
    List<String> sections = Arrays.asList(a.getOrDefault("sections",
        "ref,arch,encoder,serve,decode").split(","));
    Path shared = Path.of(a.getOrDefault("shared",
        System.getProperty("llmbatch.shared.dir", "../shared")));
    if (device.equals("cpu")) {
      dtypes = List.of(ComputeDtype.FP32);
    }
    TorchRuntime.engine(THREADS);
    System.out.printf("libtorch %s, GPUs visible %d, device %s, Java %s%n",
        TorchRuntime.engine().getVersion(), TorchRuntime.usableGpus(), device,
        System.getProperty("java.version"));
    Path tmp = Files.createTempDirectory("gpu-bench");
    FlavorFixtures.deleteTreeOnExit(tmp);
    for (String s : sections) {
      long t0 = System.nanoTime();
      try {
        switch (s) {
          case "ref" -> reference(shared, device);
          case "serve" -> serveEmbeddings(tmp, shared, device);
          case "arch" -> architectures(tmp, device);
          case "encoder" -> encoder(tmp, device);
          case "decode" -> decode(tmp, device, a.getOrDefault("batches", "1,8,32,128,256"));
          default -> throw new IllegalArgumentException("unknown section " + s);
        }
      } catch (Exception | Error e) {
        failures++;
        System.out.println("FAIL section " + s + ": " + e);
        e.printStackTrace(System.out);
      }
      System.out.printf("-- section %s took %.1f s%n", s, (System.nanoTime() - t0) / 1e9);
    }
    System.out.println(failures == 0 ? "ALL PASS" : failures + " FAILURE(S)");
    System.exit(failures);
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      failures++;
    }
    System.out.println((ok ? "PASS " : "FAIL ") + what);
  }

  private static int[] ints(JsonNode a) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).asInt();
    }
    return out;
  }

  private static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }

  /** Largest |Δ| of a golden LOGITS object's top-10, fixed ids, mean and logsumexp. */
  private static double logitsError(JsonNode gold, float[] logits) {
    double err = 0;
    JsonNode ids = gold.get("top10_ids");
    for (int i = 0; i < ids.size(); i++) {
      err = Math.max(err, Math.abs(gold.get("top10_values").get(i).asDouble()
          - logits[ids.get(i).asInt()]));
    }
    JsonNode fixed = gold.get("fixed_ids");
    for (int i = 0; i < fixed.size(); i++) {
      err = Math.max(err, Math.abs(gold.get("fixed_values").get(i).asDouble()
          - logits[fixed.get(i).asInt()]));
    }
    double sum = 0;
    double max = Double.NEGATIVE_INFINITY;
    for (float v : logits) {
      sum += v;
      max = Math.max(max, v);
    }
    double lse = 0;
    for (float v : logits) {
      lse += Math.exp(v - max);
    }
    err = Math.max(err, Math.abs(gold.get("mean").asDouble() - sum / logits.length));
    return Math.max(err, Math.abs(gold.get("logsumexp").asDouble() - (max + Math.log(lse))));
  }

  /** The shared tiny Llama against transformers' goldens: FP32 (1e-4, as on the CPU) and FP16. */
  private static void reference(Path shared, String device) throws Exception {
    Path fixture = shared.resolve("reference/llama");
    JsonNode goldens = new ObjectMapper().readTree(fixture.resolve("goldens.json").toFile());
    for (ComputeDtype dtype : dtypes) {
      double tol = dtype == ComputeDtype.FP32 ? 1e-4 : 2e-2;
      try (CausalLm m = Architectures.loadCausalLm(fixture.resolve("mlflow/model"),
          new LoadOptions(device, dtype, THREADS)); KvCache cache = m.allocateCache(1, 256)) {
        double worst = 0;
        int argmaxOk = 0;
        int n = 0;
        for (String group : List.of("prompts", "chats")) {
          for (JsonNode item : goldens.get(group)) {
            float[] logits = m.step(cache, List.of(new StepInput(0, 0,
                ints(item.get("input_ids")))))[0];
            worst = Math.max(worst, logitsError(item.get("last_logits"), logits));
            argmaxOk += argmax(logits) == item.get("last_logits").get("argmax").asInt() ? 1 : 0;
            n++;
          }
        }
        check(worst <= tol && argmaxOk == n, String.format("reference Llama %s %s: last logits of"
            + " %d prompts and chats, max |Δ| %.2e (tolerance %.0e), argmax %d/%d", device, dtype,
            n, worst, tol, argmaxOk, n));
        // greedy continuation, compared up to the near ties the goldens name
        int compared = 0;
        int agreed = 0;
        double stepErr = 0;
        for (JsonNode item : goldens.get("prompts")) {
          JsonNode greedy = item.get("greedy");
          int[] prompt = ints(item.get("input_ids"));
          int[] expected = ints(greedy.get("new_token_ids"));
          float[] logits = m.step(cache, List.of(new StepInput(0, 0, prompt)))[0];
          int pos = prompt.length;
          for (int s = 0; s < expected.length; s++) {
            if (greedy.get("step_top1_minus_top2").get(s).asDouble() < (dtype
                == ComputeDtype.FP32 ? 1e-3 : 5e-2)) {
              break;
            }
            int next = argmax(logits);
            compared++;
            if (next != expected[s]) {
              break;
            }
            agreed++;
            stepErr = Math.max(stepErr, Math.abs(greedy.get("step_top1_logit").get(s).asDouble()
                - logits[next]));
            logits = m.step(cache, List.of(new StepInput(0, pos++, new int[] {next})))[0];
          }
        }
        check(agreed == compared && stepErr <= tol, String.format("reference Llama %s %s: greedy"
            + " decode through the KV cache, %d/%d tokens as transformers, top-1 logit max |Δ|"
            + " %.2e", device, dtype, agreed, compared, stepErr));
        // the ragged batch against the left-padded batch transformers ran
        JsonNode batch = goldens.get("batch_left_padding");
        List<StepInput> inputs = new ArrayList<>();
        List<JsonNode> golds = new ArrayList<>();
        for (JsonNode row : batch.get("rows")) {
          for (JsonNode p : goldens.get("prompts")) {
            if (p.get("id").asText().equals(row.get("prompt_id").asText())) {
              inputs.add(new StepInput(inputs.size(), 0, ints(p.get("input_ids"))));
            }
          }
          golds.add(row.get("last_logits_batched"));
        }
        try (KvCache bc = m.allocateCache(inputs.size(), 256)) {
          float[][] rows = m.step(bc, inputs);
          double err = 0;
          for (int i = 0; i < rows.length; i++) {
            err = Math.max(err, logitsError(golds.get(i), rows[i]));
          }
          check(err <= tol, String.format("reference Llama %s %s: ragged batch of %d, max |Δ|"
              + " %.2e", device, dtype, rows.length, err));
        }
      }
    }
  }

  /** Each decoder architecture: a ragged prefill and three cached steps, GPU vs CPU FP32. */
  private static void architectures(Path tmp, String device) {
    for (String type : TinyDecoders.MODEL_TYPES) {
      Path dir = TinyDecoders.write(type, tmp.resolve("arch-" + type));
      float[][][] cpu = run(dir, "cpu", ComputeDtype.FP32);
      for (ComputeDtype dtype : dtypes) {
        float[][][] gpu = run(dir, device, dtype);
        double err = 0;
        double scale = 0;
        int argmaxOk = 0;
        int n = 0;
        for (int s = 0; s < cpu.length; s++) {
          for (int r = 0; r < cpu[s].length; r++) {
            for (int v = 0; v < cpu[s][r].length; v++) {
              err = Math.max(err, Math.abs(cpu[s][r][v] - gpu[s][r][v]));
              scale = Math.max(scale, Math.abs(cpu[s][r][v]));
            }
            argmaxOk += argmax(cpu[s][r]) == argmax(gpu[s][r]) ? 1 : 0;
            n++;
          }
        }
        double tol = (dtype == ComputeDtype.FP32 ? 1e-4 : 2e-2) * Math.max(1, scale);
        check(err <= tol, String.format("%-8s %s %s vs cpu FP32: max |Δ| %.2e (logits up to %.2f,"
            + " tolerance %.1e), argmax %d/%d", type, device, dtype, err, scale, tol, argmaxOk, n));
      }
    }
  }

  private static float[][][] run(Path dir, String device, ComputeDtype dtype) {
    try (CausalLm m = Architectures.loadCausalLm(dir, new LoadOptions(device, dtype, THREADS));
        KvCache cache = m.allocateCache(3, 64)) {
      int[][] prompts = {{1, 5, 9, 13, 2, 40, 41}, {3, 7}, {11, 12, 13, 14, 15, 16, 17, 18, 19,
          20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}};
      List<float[][]> out = new ArrayList<>();
      List<StepInput> in = new ArrayList<>();
      for (int i = 0; i < prompts.length; i++) {
        in.add(new StepInput(i, 0, prompts[i]));
      }
      out.add(m.step(cache, in));
      for (int s = 0; s < 3; s++) {
        in.clear();
        for (int i = 0; i < prompts.length; i++) {
          in.add(new StepInput(i, prompts[i].length + s, new int[] {(7 * s + 5 * i + 3) % 90}));
        }
        out.add(m.step(cache, in));
      }
      return out.toArray(new float[0][][]);
    }
  }

  /** A random BERT (2 layers, GELU, LayerNorm): hidden states and pooled embeddings, GPU vs CPU. */
  private static void encoder(Path tmp, String device) throws Exception {
    int h = 64;
    int inter = 256;
    int vocab = 500;
    int positions = 128;
    TinyEncoders.Weights w = TinyEncoders.bert(new Random(5), 0.1, h, inter, vocab, positions, 2);
    w.random(new Random(6), 0.1, "embeddings.token_type_embeddings.weight", 2, h);
    w.values().forEach((name, v) -> {
      if (name.endsWith("LayerNorm.weight")) {
        for (int i = 0; i < v.length; i++) {
          v[i] += 1; // scales near 1, as trained norms have
        }
      }
    });
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("model_type", "bert");
    c.put("hidden_size", h);
    c.put("num_hidden_layers", 2);
    c.put("num_attention_heads", 4);
    c.put("intermediate_size", inter);
    c.put("vocab_size", vocab);
    c.put("max_position_embeddings", positions);
    c.put("type_vocab_size", 2);
    c.put("pad_token_id", 0);
    c.put("layer_norm_eps", 1e-12);
    c.put("hidden_act", "gelu");
    Path dir = TinyEncoders.write(tmp.resolve("bert"), c, w);
    List<int[]> batch = new ArrayList<>();
    SplittableRandom sr = new SplittableRandom(3);
    for (int len : new int[] {5, 17, 64, 1, 100, 33}) {
      batch.add(sr.ints(len, 1, vocab).toArray());
    }
    float[][] cpuEmb;
    float[][][] cpuHidden;
    try (Encoder e = Encoders.load(dir, Device.cpu(), ComputeDtype.FP32)) {
      cpuEmb = e.embed(batch, Pooling.MEAN, true);
      cpuHidden = e.lastHiddenState(batch);
    }
    for (ComputeDtype dtype : dtypes) {
      try (Encoder e = Encoders.load(dir, TorchRuntime.device(device), dtype)) {
        float[][] emb = e.embed(batch, Pooling.MEAN, true);
        float[][][] hidden = e.lastHiddenState(batch);
        double err = 0;
        double minCos = 1;
        for (int i = 0; i < batch.size(); i++) {
          double dot = 0;
          for (int j = 0; j < h; j++) {
            dot += emb[i][j] * (double) cpuEmb[i][j];
          }
          minCos = Math.min(minCos, dot);
          for (int p = 0; p < cpuHidden[i].length; p++) {
            for (int j = 0; j < h; j++) {
              err = Math.max(err, Math.abs(hidden[i][p][j] - cpuHidden[i][p][j]));
            }
          }
        }
        double tol = dtype == ComputeDtype.FP32 ? 1e-4 : 2e-2;
        check(err <= tol && minCos >= (dtype == ComputeDtype.FP32 ? 0.99999 : 0.999),
            String.format("BERT %s %s vs cpu FP32: hidden states max |Δ| %.2e (tolerance %.0e),"
                + " mean-pooled embeddings cosine ≥ %.6f, %d rows of 1-100 tokens", device, dtype,
                err, tol, minCos, batch.size()));
      }
    }
  }

  /**
   * Embeddings through the serving path ({@code LoadedModel}: tokenizer, token-budget batching,
   * sentence-transformers pooling and Normalize) on a tiny Qwen3-Embedding-shaped flavor with the
   * real Qwen3 tokenizer, GPU vs CPU.
   */
  private static void serveEmbeddings(Path tmp, Path shared, String device) throws Exception {
    if (System.getProperty("llmbatch.shared.dir") == null) {
      System.setProperty("llmbatch.shared.dir", shared.toString()); // the Qwen3 tokenizer
    }
    Path flavor = TinyEmbedders.qwen3EmbeddingFlavor(tmp.resolve("qwen3-embedding"));
    List<String> texts = List.of("The quick brown fox jumps over the lazy dog.",
        "Paris in winter", "素晴らしい天気ですね", "x",
        "Prime numbers, the sea, and a red bicycle: " + "la ".repeat(20));
    float[][] cpu = embed(flavor, "cpu", "fp32", texts);
    for (ComputeDtype dtype : dtypes) {
      float[][] dev = embed(flavor, device, dtype.name().toLowerCase(java.util.Locale.ROOT), texts);
      double minCos = 1;
      for (int i = 0; i < texts.size(); i++) {
        double dot = 0;
        for (int j = 0; j < cpu[i].length; j++) {
          dot += cpu[i][j] * (double) dev[i][j];
        }
        minCos = Math.min(minCos, dot);
      }
      check(minCos >= (dtype == ComputeDtype.FP32 ? 0.99999 : 0.999), String.format(
          "LoadedModel.embed %s %s vs cpu FP32 (tiny Qwen3-Embedding, %d texts): cosine ≥ %.6f",
          device, dtype, texts.size(), minCos));
    }
  }

  private static float[][] embed(Path flavor, String device, String dtype, List<String> texts)
      throws Exception {
    try (LoadedModel m = LoadedModel.load(flavor,
        ServeOptions.DEFAULTS.withDevice(device, THREADS).withDtype(dtype))) {
      EmbeddingResponse r = m.embed(EmbeddingRequest.of(texts), RequestKey.of("gpu-bench")).get();
      float[][] out = new float[texts.size()][];
      for (int i = 0; i < out.length; i++) {
        out[i] = r.data().get(i).embedding();
      }
      return out;
    }
  }

  /** Device limits measured through DJL: copy bandwidth and FP16/FP32 matmul throughput. */
  private static double[] limits(Device dev) {
    try (NDManager nm = NDManager.newBaseManager(dev)) {
      long n = 1L << 28; // 1 GiB of float32
      NDArray x = nm.ones(new Shape(n));
      x.duplicate().close();
      x.sum().getFloat();
      int reps = 20;
      long t0 = System.nanoTime();
      for (int i = 0; i < reps; i++) {
        try (NDArray y = x.duplicate()) {
          if (i == reps - 1) {
            y.get(0).getFloat(); // syncs the stream
          }
        }
      }
      double bw = 2.0 * n * 4 * reps / ((System.nanoTime() - t0) / 1e9);
      x.close();
      double[] out = {bw, 0, 0};
      int k = dev.isGpu() ? 8192 : 2048;
      for (int d = 0; d < 2; d++) {
        if (d == 0 && !dtypes.contains(ComputeDtype.FP16)) {
          continue; // CPU FP16 matmul crawls; a CPU dry run only needs FP32
        }
        DataType type = d == 0 ? DataType.FLOAT16 : DataType.FLOAT32;
        NDArray p = nm.randomNormal(new Shape(k, k)).toType(type, false);
        NDArray q = nm.randomNormal(new Shape(k, k)).toType(type, false);
        p.matMul(q).close();
        p.get(0, 0).toType(DataType.FLOAT32, false).getFloat();
        long s0 = System.nanoTime();
        int mm = d == 0 ? 20 : 5;
        for (int i = 0; i < mm; i++) {
          NDArray z = p.matMul(q);
          if (i == mm - 1) {
            z.get(0, 0).toType(DataType.FLOAT32, false).getFloat();
          }
          z.close();
        }
        out[1 + d] = 2.0 * k * k * (double) k * mm / ((System.nanoTime() - s0) / 1e9);
        p.close();
        q.close();
      }
      return out;
    }
  }

  /** Prefill and decode of a ~100M-parameter Llama (the CPU DecoderBench's model) on the device. */
  private static void decode(Path tmp, String device, String batches) {
    double[] lim = limits(TorchRuntime.device(device));
    System.out.printf("device copy bandwidth %.0f GB/s; matmul 8192^3 FP16 %.0f TFLOP/s, FP32 %.1f"
        + " TFLOP/s%n", lim[0] / 1e9, lim[1] / 1e12, lim[2] / 1e12);
    Path dir = TinyDecoders.write(tmp.resolve("base"), DecoderBench.config100M(), 2);
    for (ComputeDtype dtype : dtypes) {
      try (CausalLm m = Architectures.loadCausalLm(dir, new LoadOptions(device, dtype, THREADS))) {
        DecoderSpec spec = m.spec();
        long p = spec.matmulParameters();
        double w = p * (dtype == ComputeDtype.FP16 ? 2.0 : 4.0);
        double f = dtype == ComputeDtype.FP16 ? lim[1] : lim[2];
        System.out.printf("%n== 100M Llama on %s, %s: P(matmul) = %.1fM, W = %.0f MB%n", device,
            spec.computeDtype(), p / 1e6, w / 1e6);
        SplittableRandom rnd = new SplittableRandom(7);
        for (int t : new int[] {512, 2048}) {
          double s = DecoderBench.prefillSeconds(m, t, 5, rnd);
          double flops = DecoderBench.prefillFlops(spec, 768, t);
          System.out.printf("prefill %d tokens: %.0f tokens/s, %.1f ms, MFU %.2f%%%n", t, t / s,
              s * 1e3, 100 * flops / s / f);
        }
        int ctx = 64;
        int steps = 40;
        for (String bs : batches.split(",")) {
          int b = Integer.parseInt(bs);
          try (KvCache cache = m.allocateCache(b, ctx + 2 * steps + 4)) {
            DecoderBench.prefillSlots(m, cache, b, ctx, rnd);
            float[][] rows = new float[b][spec.vocabSize()];
            double[] times = new double[steps];
            for (int s = -steps; s < steps; s++) {
              List<StepInput> in = new ArrayList<>();
              for (int i = 0; i < b; i++) {
                in.add(new StepInput(i, ctx + steps + s, new int[] {rnd.nextInt(
                    spec.vocabSize())}));
              }
              long t0 = System.nanoTime();
              m.step(cache, in, rows);
              if (s >= 0) {
                times[s] = (System.nanoTime() - t0) / 1e9;
              }
            }
            double step = Roofline.median(times);
            double bound = b / Math.max(w / lim[0], 2.0 * p * b / f);
            System.out.printf("decode batch %3d: %8.0f tokens/s (step %.2f ms, min %.2f), roofline"
                + " %.0f tokens/s, %.1f%% of it%n", b, b / step, step * 1e3,
                Arrays.stream(times).min().getAsDouble() * 1e3, bound, 100 * b / step / bound);
          }
        }
      }
    }
  }
}
