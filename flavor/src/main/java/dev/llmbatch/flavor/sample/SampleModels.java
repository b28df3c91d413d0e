package dev.llmbatch.flavor.sample;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.MLmodel;
import dev.llmbatch.flavor.MLmodelWriter;
import dev.llmbatch.flavor.ModelMetadata;
import dev.llmbatch.flavor.PyFuncFlavor;
import dev.llmbatch.flavor.Signature;
import dev.llmbatch.flavor.TransformersFlavor;
import dev.llmbatch.flavor.safetensors.DType;
import dev.llmbatch.flavor.safetensors.SafetensorsWriter;
import dev.llmbatch.flavor.safetensors.SafetensorsWriter.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Writes tiny Hugging Face checkpoints from code: config.json, generation_config.json, random
 * safetensors weights under their HF checkpoint names, and a word-level tokenizer. Deterministic for
 * a given seed. Architectures: {@code LlamaForCausalLM} and {@code BertModel}.
 */
public final class SampleModels {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private SampleModels() {}

  /**
   * Sizes of a tiny Llama.
   *
   * @param vocabSize {@code vocab_size}
   * @param hiddenSize {@code hidden_size}
   * @param numHiddenLayers {@code num_hidden_layers}
   * @param numAttentionHeads {@code num_attention_heads}
   * @param numKeyValueHeads {@code num_key_value_heads}
   * @param intermediateSize {@code intermediate_size}
   */
  public record LlamaSizes(int vocabSize, int hiddenSize, int numHiddenLayers,
      int numAttentionHeads, int numKeyValueHeads, int intermediateSize) {
    public LlamaSizes {
      if (hiddenSize % numAttentionHeads != 0 || numAttentionHeads % numKeyValueHeads != 0) {
        throw new FlavorException("Cannot create LlamaSizes: hidden_size " + hiddenSize
            + " must divide by num_attention_heads " + numAttentionHeads
            + ", which must divide by num_key_value_heads " + numKeyValueHeads);
      }
    }

    /** 2 layers, hidden 16, 2 heads, 1 kv head, ffn 48 (the reference tiny Llama's shape). */
    public static LlamaSizes tiny(int vocabSize) {
      return new LlamaSizes(vocabSize, 16, 2, 2, 1, 48);
    }
  }

  /** Writes a tiny LlamaForCausalLM checkpoint (config, generation config, weights) into {@code dir}. */
  public static void writeLlama(Path dir, LlamaSizes s, DType dtype, long seed) {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("architectures", List.of("LlamaForCausalLM"));
    config.put("model_type", "llama");
    config.put("vocab_size", s.vocabSize());
    config.put("hidden_size", s.hiddenSize());
    config.put("intermediate_size", s.intermediateSize());
    config.put("num_hidden_layers", s.numHiddenLayers());
    config.put("num_attention_heads", s.numAttentionHeads());
    config.put("num_key_value_heads", s.numKeyValueHeads());
    config.put("hidden_act", "silu");
    config.put("max_position_embeddings", 256);
    config.put("rms_norm_eps", 1e-6);
    config.put("rope_theta", 10000.0);
    config.put("tie_word_embeddings", false);
    config.put("bos_token_id", 1);
    config.put("eos_token_id", 2);
    config.put("torch_dtype", torchName(dtype));
    config.put("transformers_version", "4.46.3");
    writeJson(dir.resolve("config.json"), config);
    Map<String, Object> gen = new LinkedHashMap<>();
    gen.put("bos_token_id", 1);
    gen.put("eos_token_id", List.of(2, 3));
    gen.put("do_sample", true);
    gen.put("temperature", 0.7);
    gen.put("top_p", 0.9);
    gen.put("max_new_tokens", 32);
    writeJson(dir.resolve("generation_config.json"), gen);

    int h = s.hiddenSize();
    int kv = h / s.numAttentionHeads() * s.numKeyValueHeads();
    Random rnd = new Random(seed);
    Map<String, Tensor> w = new LinkedHashMap<>();
    w.put("model.embed_tokens.weight", random(rnd, dtype, s.vocabSize(), h));
    for (int i = 0; i < s.numHiddenLayers(); i++) {
      String p = "model.layers." + i + ".";
      w.put(p + "input_layernorm.weight", random(rnd, dtype, h));
      w.put(p + "self_attn.q_proj.weight", random(rnd, dtype, h, h));
      w.put(p + "self_attn.k_proj.weight", random(rnd, dtype, kv, h));
      w.put(p + "self_attn.v_proj.weight", random(rnd, dtype, kv, h));
      w.put(p + "self_attn.o_proj.weight", random(rnd, dtype, h, h));
      w.put(p + "post_attention_layernorm.weight", random(rnd, dtype, h));
      w.put(p + "mlp.gate_proj.weight", random(rnd, dtype, s.intermediateSize(), h));
      w.put(p + "mlp.up_proj.weight", random(rnd, dtype, s.intermediateSize(), h));
      w.put(p + "mlp.down_proj.weight", random(rnd, dtype, h, s.intermediateSize()));
    }
    w.put("model.norm.weight", random(rnd, dtype, h));
    w.put("lm_head.weight", random(rnd, dtype, s.vocabSize(), h));
    SafetensorsWriter.write(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
  }

  /** Writes a tiny BertModel checkpoint (hidden 32, 2 layers, 2 heads, ffn 64) into {@code dir}. */
  public static void writeBert(Path dir, int vocabSize, long seed) {
    int h = 32;
    int ffn = 64;
    int layers = 2;
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("architectures", List.of("BertModel"));
    config.put("model_type", "bert");
    config.put("vocab_size", vocabSize);
    config.put("hidden_size", h);
    config.put("num_hidden_layers", layers);
    config.put("num_attention_heads", 2);
    config.put("intermediate_size", ffn);
    config.put("hidden_act", "gelu");
    config.put("max_position_embeddings", 64);
    config.put("type_vocab_size", 2);
    config.put("layer_norm_eps", 1e-12);
    config.put("pad_token_id", 0);
    config.put("torch_dtype", "float32");
    writeJson(dir.resolve("config.json"), config);
    Random rnd = new Random(seed);
    Map<String, Tensor> w = new LinkedHashMap<>();
    w.put("embeddings.word_embeddings.weight", random(rnd, DType.F32, vocabSize, h));
    w.put("embeddings.position_embeddings.weight", random(rnd, DType.F32, 64, h));
    w.put("embeddings.token_type_embeddings.weight", random(rnd, DType.F32, 2, h));
    w.put("embeddings.LayerNorm.weight", random(rnd, DType.F32, h));
    w.put("embeddings.LayerNorm.bias", random(rnd, DType.F32, h));
    for (int i = 0; i < layers; i++) {
      String p = "encoder.layer." + i + ".";
      for (String m : List.of("attention.self.query", "attention.self.key", "attention.self.value",
          "attention.output.dense")) {
        w.put(p + m + ".weight", random(rnd, DType.F32, h, h));
        w.put(p + m + ".bias", random(rnd, DType.F32, h));
      }
      w.put(p + "attention.output.LayerNorm.weight", random(rnd, DType.F32, h));
      w.put(p + "attention.output.LayerNorm.bias", random(rnd, DType.F32, h));
      w.put(p + "intermediate.dense.weight", random(rnd, DType.F32, ffn, h));
      w.put(p + "intermediate.dense.bias", random(rnd, DType.F32, ffn));
      w.put(p + "output.dense.weight", random(rnd, DType.F32, h, ffn));
      w.put(p + "output.dense.bias", random(rnd, DType.F32, h));
      w.put(p + "output.LayerNorm.weight", random(rnd, DType.F32, h));
      w.put(p + "output.LayerNorm.bias", random(rnd, DType.F32, h));
    }
    w.put("pooler.dense.weight", random(rnd, DType.F32, h, h));
    w.put("pooler.dense.bias", random(rnd, DType.F32, h));
    SafetensorsWriter.write(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
  }

  /** The chat signature MLflow logs for llm/v1/chat (abridged: messages plus common params). */
  public static final String CHAT_SIGNATURE_INPUTS = "[{\"type\": \"array\", \"items\": {\"type\":"
      + " \"object\", \"properties\": {\"content\": {\"type\": \"string\", \"required\": true},"
      + " \"name\": {\"type\": \"string\", \"required\": false}, \"role\": {\"type\":"
      + " \"string\", \"required\": true}}}, \"name\": \"messages\", \"required\": true},"
      + " {\"type\": \"double\", \"name\": \"temperature\", \"required\": false}, {\"type\":"
      + " \"long\", \"name\": \"max_tokens\", \"required\": false}, {\"type\": \"array\","
      + " \"items\": {\"type\": \"string\"}, \"name\": \"stop\", \"required\": false}]";

  /**
   * The MLmodel of a chat model logged from a pipeline with {@code task="llm/v1/chat"}, as MLflow
   * 2.x writes it; {@code modelBinary} null and {@code revision} set make it reference-only.
   */
  public static MLmodel chatMLmodel(String sourceModelName, String modelBinary, String revision,
      String torchDtype, Map<String, Object> modelConfig) {
    TransformersFlavor.Component tokenizer = new TransformersFlavor.Component("tokenizer",
        "PreTrainedTokenizerFast", revision == null ? null : sourceModelName, revision);
    TransformersFlavor flavor = new TransformersFlavor("4.46.3", null, "text-generation",
        "llm/v1/chat", "TextGenerationPipeline", "pt", torchDtype, "LlamaForCausalLM",
        sourceModelName, modelBinary, revision, List.of(tokenizer), null, null, Map.of());
    Map<String, Object> env = new LinkedHashMap<>();
    env.put("conda", "conda.yaml");
    env.put("virtualenv", "python_env.yaml");
    PyFuncFlavor pyFunc = new PyFuncFlavor("mlflow.transformers", "3.11.9", env, modelConfig,
        Map.of());
    Signature sig = new Signature(CHAT_SIGNATURE_INPUTS,
        "[{\"type\": \"string\", \"name\": \"id\", \"required\": true}]", null, Map.of());
    return new MLmodel("model", "2.19.0", "3f9c3f0d8c7e4b7fa1c2d3e4f5a6b7c8", null,
        "0a1b2c3d4e5f67890a1b2c3d4e5f6789", "2024-07-01 12:00:00.000000", null, flavor, pyFunc,
        Map.of(), sig, null, new ModelMetadata("llm/v1/chat", null, Map.of()), Map.of());
  }

  /**
   * Writes a complete pipeline-layout chat model under {@code root}: MLmodel, {@code model/}
   * (a tiny random Llama) and {@code components/tokenizer/} (word-level, ChatML template).
   *
   * @return {@code root}
   */
  public static Path writePipelineChatModel(Path root, long seed) {
    int vocab = SampleTokenizers.writeWordLevel(root.resolve("components/tokenizer"),
        SampleTokenizers.sampleWords(), SampleTokenizers.CHATML_TEMPLATE);
    writeLlama(root.resolve("model"), LlamaSizes.tiny(vocab), DType.F32, seed);
    Map<String, Object> defaults = new LinkedHashMap<>();
    defaults.put("max_new_tokens", 16);
    defaults.put("temperature", 0.0);
    MLmodelWriter.write(chatMLmodel("llm-batch/sample-llama", "model", null, "torch.float32",
        defaults), root.resolve(MLmodel.FILE_NAME));
    return root;
  }


  /** Writes {@code value} as indented JSON, creating folders. */
  public static void writeJson(Path file, Object value) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      JSON.writeValue(file.toFile(), value);
    } catch (IOException e) {
      throw new FlavorException("Cannot write " + file + ": " + e, e);
    }
  }

  private static Tensor random(Random rnd, DType dtype, long... shape) {
    int n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, (int) d);
    }
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (rnd.nextGaussian() * 0.1);
    }
    return switch (dtype) {
      case F32 -> Tensor.f32(shape, v);
      case BF16 -> Tensor.bf16(shape, v);
      default -> throw new FlavorException("Cannot write sample weights as " + dtype
          + ": use F32 or BF16");
    };
  }

  private static String torchName(DType dtype) {
    return switch (dtype) {
      case BF16 -> "bfloat16";
      case F16 -> "float16";
      default -> "float32";
    };
  }
}
