package dev.llmbatch.engine.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.llmbatch.flavor.safetensors.DType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes tiny random decoder checkpoints (config.json + model.safetensors, FP32) for every
 * supported architecture, hidden 48 and 2 layers, every weight non-trivial: norm weights are
 * 1 ± 0.2 (never exactly 1), biases ± 0.1 (never 0), so a weight the engine forgets changes the
 * output. Also writes a complete MLflow Transformers-flavor chat model around a tiny Llama or Qwen3
 * with the real Qwen3 tokenizer from the shared reference folder.
 */
public final class TinyDecoders {
  /** The model_types this class writes, one per supported architecture. */
  public static final List<String> MODEL_TYPES =
      List.of("llama", "mistral", "qwen2", "qwen3", "gpt2", "phi3", "gemma", "gemma2");

  /** Default vocabulary of the tiny models. */
  public static final int VOCAB = 96;

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private TinyDecoders() {}

  /** Writes a tiny {@code modelType} checkpoint (vocab 96, hidden 48, 2 layers) into {@code dir}. */
  public static Path write(String modelType, Path dir) {
    return write(modelType, dir, VOCAB, 48, 42L);
  }

  /**
   * Writes a tiny {@code modelType} checkpoint into {@code dir} (created) with the given vocabulary
   * and hidden size (a multiple of 4 and ≥ 16), seeded. Returns {@code dir}.
   */
  public static Path write(String modelType, Path dir, int vocab, int hidden, long seed) {
    Map<String, Object> config = config(modelType, vocab, hidden);
    Map<String, long[]> shapes = shapes(modelType, config);
    try {
      Files.createDirectories(dir);
      JSON.writeValue(dir.resolve("config.json").toFile(), config);
      writeSafetensors(dir.resolve("model.safetensors"), shapes, seed);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return dir;
  }

  /**
   * Writes a random checkpoint for an arbitrary {@code config} (a config.json as a map whose
   * {@code model_type} is one of {@link #MODEL_TYPES}) into {@code dir}, e.g. a ~100M-parameter
   * Llama for benchmarks.
   */
  public static Path write(Path dir, Map<String, Object> config, long seed) {
    return write(dir, config, seed, DType.F32);
  }

  /**
   * The same, stored as {@code dtype}: F32, BF16 (as most published checkpoints are) or F16, each
   * value rounded to nearest (ties to even), with config.json's {@code torch_dtype} to match.
   */
  public static Path write(Path dir, Map<String, Object> config, long seed, DType dtype) {
    Map<String, long[]> shapes = shapes((String) config.get("model_type"), config);
    try {
      Files.createDirectories(dir);
      Map<String, Object> c = config;
      if (dtype != DType.F32) {
        c = new LinkedHashMap<>(config);
        c.put("torch_dtype", dtype == DType.BF16 ? "bfloat16" : "float16");
      }
      JSON.writeValue(dir.resolve("config.json").toFile(), c);
      writeSafetensors(dir.resolve("model.safetensors"), shapes, seed, dtype);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return dir;
  }

  /** The config.json of a tiny {@code modelType}: exercises what differs per architecture. */
  public static Map<String, Object> config(String modelType, int vocab, int hidden) {
    Map<String, Object> c = new LinkedHashMap<>();
    int heads = 4;
    c.put("model_type", modelType);
    c.put("vocab_size", vocab);
    c.put("torch_dtype", "float32");
    if (modelType.equals("gpt2")) {
      c.put("architectures", List.of("GPT2LMHeadModel"));
      c.put("n_embd", hidden);
      c.put("n_layer", 2);
      c.put("n_head", heads);
      c.put("n_positions", 128);
      c.put("n_inner", null);
      c.put("layer_norm_epsilon", 1e-5);
      c.put("activation_function", "gelu_new");
      return c;
    }
    c.put("hidden_size", hidden);
    c.put("intermediate_size", 2 * hidden);
    c.put("num_hidden_layers", 2);
    c.put("num_attention_heads", heads);
    c.put("num_key_value_heads", 2);
    c.put("max_position_embeddings", 256);
    c.put("rms_norm_eps", 1e-6);
    c.put("rope_theta", 10000.0);
    c.put("hidden_act", "silu");
    c.put("tie_word_embeddings", false);
    switch (modelType) {
      case "llama" -> {
        c.put("architectures", List.of("LlamaForCausalLM"));
        c.put("tie_word_embeddings", true);
        c.put("rope_scaling", Map.of("rope_type", "llama3", "factor", 8.0, "low_freq_factor", 1.0,
            "high_freq_factor", 4.0, "original_max_position_embeddings", 64));
      }
      case "mistral" -> {
        c.put("architectures", List.of("MistralForCausalLM"));
        c.put("sliding_window", 5);
      }
      case "qwen2" -> {
        c.put("architectures", List.of("Qwen2ForCausalLM"));
        c.put("use_sliding_window", false);
      }
      case "qwen3" -> {
        c.put("architectures", List.of("Qwen3ForCausalLM"));
        c.put("head_dim", hidden / heads + 4); // ≠ hidden / heads, as in real Qwen3
        c.put("attention_bias", false);
      }
      case "phi3" -> {
        c.put("architectures", List.of("Phi3ForCausalLM"));
        c.put("partial_rotary_factor", 0.5);
        c.put("sliding_window", 6);
        c.put("rms_norm_eps", 1e-5);
      }
      case "gemma", "gemma2" -> {
        c.put("architectures", List.of(modelType.equals("gemma") ? "GemmaForCausalLM"
            : "Gemma2ForCausalLM"));
        c.put("head_dim", 16);
        c.put("hidden_act", "gelu_pytorch_tanh");
        c.put("hidden_activation", "gelu_pytorch_tanh");
        c.put("tie_word_embeddings", true);
        if (modelType.equals("gemma2")) {
          c.put("query_pre_attn_scalar", 24);
          c.put("attn_logit_softcapping", 2.0); // small caps so that they bite on tiny logits
          c.put("final_logit_softcapping", 3.0);
          c.put("sliding_window", 4);
        }
      }
      default -> throw new IllegalArgumentException("No tiny model for model_type " + modelType
          + "; known: " + MODEL_TYPES);
    }
    return c;
  }

  private static int num(Map<String, Object> c, String key) {
    return ((Number) c.get(key)).intValue();
  }

  /** Checkpoint tensor names and shapes, as HF's save_pretrained writes them. */
  public static Map<String, long[]> shapes(String type, Map<String, Object> c) {
    Map<String, long[]> s = new LinkedHashMap<>();
    long v = num(c, "vocab_size");
    if (type.equals("gpt2")) {
      long h = num(c, "n_embd");
      s.put("transformer.wte.weight", new long[] {v, h});
      s.put("transformer.wpe.weight", new long[] {num(c, "n_positions"), h});
      for (int i = 0; i < num(c, "n_layer"); i++) {
        String p = "transformer.h." + i + ".";
        norm(s, p + "ln_1", h, true);
        conv1d(s, p + "attn.c_attn", h, 3 * h);
        conv1d(s, p + "attn.c_proj", h, h);
        norm(s, p + "ln_2", h, true);
        conv1d(s, p + "mlp.c_fc", h, 4 * h);
        conv1d(s, p + "mlp.c_proj", 4 * h, h);
      }
      norm(s, "transformer.ln_f", h, true);
      return s;
    }
    long h = num(c, "hidden_size");
    long heads = num(c, "num_attention_heads");
    long d = c.containsKey("head_dim") ? num(c, "head_dim") : h / heads;
    long q = heads * d;
    long kv = num(c, "num_key_value_heads") * d;
    long ffn = num(c, "intermediate_size");
    boolean qkvBias = type.equals("qwen2");
    s.put("model.embed_tokens.weight", new long[] {v, h});
    for (int i = 0; i < num(c, "num_hidden_layers"); i++) {
      String p = "model.layers." + i + ".";
      norm(s, p + "input_layernorm", h, false);
      if (type.equals("phi3")) {
        s.put(p + "self_attn.qkv_proj.weight", new long[] {q + 2 * kv, h});
      } else {
        linear(s, p + "self_attn.q_proj", q, h, qkvBias);
        linear(s, p + "self_attn.k_proj", kv, h, qkvBias);
        linear(s, p + "self_attn.v_proj", kv, h, qkvBias);
      }
      linear(s, p + "self_attn.o_proj", h, q, false);
      if (type.equals("qwen3")) {
        norm(s, p + "self_attn.q_norm", d, false);
        norm(s, p + "self_attn.k_norm", d, false);
      }
      norm(s, p + "post_attention_layernorm", h, false);
      if (type.equals("gemma2")) {
        norm(s, p + "pre_feedforward_layernorm", h, false);
        norm(s, p + "post_feedforward_layernorm", h, false);
      }
      if (type.equals("phi3")) {
        s.put(p + "mlp.gate_up_proj.weight", new long[] {2 * ffn, h});
      } else {
        linear(s, p + "mlp.gate_proj", ffn, h, false);
        linear(s, p + "mlp.up_proj", ffn, h, false);
      }
      linear(s, p + "mlp.down_proj", h, ffn, false);
    }
    norm(s, "model.norm", h, false);
    if (!Boolean.TRUE.equals(c.get("tie_word_embeddings"))) {
      s.put("lm_head.weight", new long[] {v, h});
    }
    return s;
  }

  private static void linear(Map<String, long[]> s, String p, long out, long in, boolean bias) {
    s.put(p + ".weight", new long[] {out, in});
    if (bias) {
      s.put(p + ".bias", new long[] {out});
    }
  }

  private static void conv1d(Map<String, long[]> s, String p, long in, long out) {
    s.put(p + ".weight", new long[] {in, out}); // Conv1D stores (in, out)
    s.put(p + ".bias", new long[] {out});
  }

  private static void norm(Map<String, long[]> s, String p, long n, boolean bias) {
    s.put(p + ".weight", new long[] {n});
    if (bias) {
      s.put(p + ".bias", new long[] {n});
    }
  }

  /** Writes F32 tensors drawn from a seeded generator, in name order. */
  public static void writeSafetensors(Path file, Map<String, long[]> shapes, long seed)
      throws IOException {
    writeSafetensors(file, shapes, seed, DType.F32);
  }

  /** The same, as F32, BF16 or F16 (each value rounded to nearest, ties to even). */
  public static void writeSafetensors(Path file, Map<String, long[]> shapes, long seed,
      DType dtype) throws IOException {
    Map<String, Object> header = new LinkedHashMap<>();
    long offset = 0;
    int size = dtype == DType.F32 ? 4 : 2;
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      long n = numel(e.getValue());
      header.put(e.getKey(), Map.of("dtype", dtype.name(), "shape", e.getValue(),
          "data_offsets", List.of(offset, offset + size * n)));
      offset += size * n;
    }
    byte[] json = new ObjectMapper().writeValueAsBytes(header);
    int pad = (8 - json.length % 8) % 8;
    ByteBuffer head = ByteBuffer.allocate(8 + json.length + pad).order(ByteOrder.LITTLE_ENDIAN);
    head.putLong(json.length + pad).put(json);
    for (int i = 0; i < pad; i++) {
      head.put((byte) ' ');
    }
    head.flip();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(head);
      for (Map.Entry<String, long[]> e : shapes.entrySet()) {
        ByteBuffer v = values(e.getKey(), e.getValue(), seed);
        ch.write(dtype == DType.F32 ? v : toHalfWidth(v, dtype));
      }
    }
  }

  private static ByteBuffer values(String name, long[] shape, long seed) {
    int n = Math.toIntExact(numel(shape));
    SplittableRandom r = new SplittableRandom(seed * 31 + name.hashCode());
    boolean isNorm = shape.length == 1 && (name.contains("norm") || name.contains("ln_"))
        && name.endsWith(".weight");
    boolean isBias = name.endsWith(".bias");
    // weights ~ U(-a, a) with a = 1/√fan_in keeps activations O(1) through the tiny stack
    double a = shape.length == 2 ? Math.sqrt(3.0 / shape[shape.length - 1]) : 0.1;
    if (name.contains("wte") || name.contains("wpe") || name.contains("embed")) {
      a = 1.0;
    }
    ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      float x;
      if (isNorm) {
        x = (float) (1.0 + (r.nextBoolean() ? 1 : -1) * (0.02 + 0.18 * r.nextDouble()));
      } else if (isBias) {
        x = (float) ((r.nextBoolean() ? 1 : -1) * (0.01 + 0.09 * r.nextDouble()));
      } else {
        x = (float) ((2 * r.nextDouble() - 1) * a);
      }
      b.putFloat(x);
    }
    b.flip();
    return b;
  }

  /** Little-endian float32 values to BF16 or F16, rounded to nearest, ties to even. */
  private static ByteBuffer toHalfWidth(ByteBuffer f32, DType dtype) {
    ByteBuffer out = ByteBuffer.allocate(f32.remaining() / 2).order(ByteOrder.LITTLE_ENDIAN);
    while (f32.hasRemaining()) {
      float x = f32.getFloat();
      out.putShort(dtype == DType.BF16 ? bf16Bits(x) : f16Bits(x));
    }
    return out.flip();
  }

  /**
   * The IEEE binary16 nearest {@code x} (ties to even), as its 16 bits; overflow goes to
   * infinity (Java 17 has no Float.floatToFloat16).
   */
  public static short f16Bits(float x) {
    int bits = Float.floatToRawIntBits(x);
    int sign = (bits >>> 16) & 0x8000;
    float abs = Math.abs(x);
    if (abs >= 65520f) {
      return (short) (sign | 0x7C00);
    }
    if (abs < 6.103515625e-5f) { // subnormal: units of 2^-24
      return (short) (sign | (int) Math.rint(abs * 16777216f));
    }
    int exp = ((bits >>> 23) & 0xFF) - 127 + 15;
    int mant = bits & 0x7FFFFF;
    int half = (exp << 10) | (mant >>> 13);
    int rest = mant & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
      half++;
    }
    return (short) (sign | half);
  }

  /** The bfloat16 nearest {@code x} (ties to even), as its 16 bits; finite x only. */
  public static short bf16Bits(float x) {
    int bits = Float.floatToRawIntBits(x);
    return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
  }

  private static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  /**
   * Writes a complete MLflow Transformers-flavor folder for chat into {@code dir}: MLmodel
   * ({@code task: text-generation}, {@code inference_task: llm/v1/chat}), {@code model/} holding a
   * tiny {@code llama} or {@code qwen3} with the Qwen3 tokenizer's 151,669-token vocabulary
   * (hidden 16, tied embeddings, generation_config.json) and {@code components/tokenizer/} copied
   * from the shared reference. Needs the system property {@code llmbatch.shared.dir}.
   */
  public static Path chatFlavor(Path dir, String modelType) {
    return chatFlavor(dir, modelType, true);
  }

  /**
   * {@link #chatFlavor(Path, String)}, with its own {@code lm_head.weight} when {@code tiedHead} is
   * false: a (151,669 × 16) head, big enough to be packed (PackedGemm) on the CPU
   * ({@code model.layers.Linear}), so a run over this flavor goes through the packed path.
   */
  public static Path chatFlavor(Path dir, String modelType, boolean tiedHead) {
    if (!modelType.equals("llama") && !modelType.equals("qwen3")) {
      throw new IllegalArgumentException("chat flavors are llama or qwen3, not " + modelType);
    }
    String shared = System.getProperty("llmbatch.shared.dir");
    Path tokenizer = shared == null ? null
        : Path.of(shared, "reference", "llama", "mlflow", "components", "tokenizer");
    if (tokenizer == null || !Files.isRegularFile(tokenizer.resolve("tokenizer.json"))) {
      throw new IllegalStateException("Cannot write a chat flavor: the reference Qwen3 tokenizer"
          + " is missing (system property llmbatch.shared.dir=" + shared + ")");
    }
    try {
      Path model = dir.resolve("model");
      Files.createDirectories(model);
      Map<String, Object> c = config(modelType, 151669, 16);
      c.put("num_attention_heads", 2);
      c.put("num_key_value_heads", 1);
      c.put("tie_word_embeddings", tiedHead);
      c.put("bos_token_id", 151643);
      c.put("eos_token_id", 151645);
      c.put("pad_token_id", 151643);
      c.put("architectures", List.of(modelType.equals("llama") ? "LlamaForCausalLM"
          : "Qwen3ForCausalLM"));
      if (modelType.equals("qwen3")) {
        c.put("head_dim", 8);
      }
      JSON.writeValue(model.resolve("config.json").toFile(), c);
      writeSafetensors(model.resolve("model.safetensors"), shapes(modelType, c), 7L);
      JSON.writeValue(model.resolve("generation_config.json").toFile(), Map.of(
          "bos_token_id", 151643, "eos_token_id", List.of(151645, 151643),
          "pad_token_id", 151643));
      Path tok = dir.resolve("components").resolve("tokenizer");
      Files.createDirectories(tok);
      for (String f : List.of("tokenizer.json", "tokenizer_config.json",
          "special_tokens_map.json")) {
        Files.copy(tokenizer.resolve(f), tok.resolve(f));
      }
      String arch = modelType.equals("llama") ? "LlamaForCausalLM" : "Qwen3ForCausalLM";
      String mlmodel = """
          artifact_path: model
          flavors:
            python_function:
              loader_module: mlflow.transformers
              python_version: 3.11.2
            transformers:
              code: null
              components:
              - tokenizer
              framework: pt
              inference_task: llm/v1/chat
              instance_type: TextGenerationPipeline
              model_binary: model
              pipeline_model_type: %s
              source_model_name: llm-batch-tests/tiny-random-%s
              task: text-generation
              tokenizer_type: Qwen2TokenizerFast
              torch_dtype: torch.float32
              transformers_version: 4.46.3
          metadata:
            task: llm/v1/chat
          """.formatted(arch, modelType);
      Files.writeString(dir.resolve("MLmodel"), mlmodel, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return dir;
  }
}
