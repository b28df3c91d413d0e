package dev.llmbatch.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.decoder.GPT2LMHeadModel;
import dev.llmbatch.engine.model.decoder.Gemma2ForCausalLM;
import dev.llmbatch.engine.model.decoder.GemmaForCausalLM;
import dev.llmbatch.engine.model.decoder.LlamaForCausalLM;
import dev.llmbatch.engine.model.decoder.MistralForCausalLM;
import dev.llmbatch.engine.model.decoder.Phi3ForCausalLM;
import dev.llmbatch.engine.model.decoder.Qwen2ForCausalLM;
import dev.llmbatch.engine.model.decoder.Qwen3ForCausalLM;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Picks the architecture of a checkpoint folder from its config.json {@code model_type}. */
public final class Architectures {
  /** The decoder model_types this engine runs. */
  public static final List<String> CAUSAL_LM_TYPES =
      List.of("llama", "mistral", "qwen2", "qwen3", "gpt2", "phi3", "gemma", "gemma2");

  private Architectures() {}

  /** Loads the causal LM in {@code modelDir} (config.json + safetensors weights). */
  public static CausalLm loadCausalLm(Path modelDir, LoadOptions options) {
    JsonNode root = readConfig(modelDir);
    String type = root.path("model_type").asText("");
    return switch (type) {
      case "llama" -> LlamaForCausalLM.load(modelDir, root, options);
      case "mistral" -> MistralForCausalLM.load(modelDir, root, options);
      case "qwen2" -> Qwen2ForCausalLM.load(modelDir, root, options);
      case "qwen3" -> Qwen3ForCausalLM.load(modelDir, root, options);
      case "gpt2" -> GPT2LMHeadModel.load(modelDir, root, options);
      case "phi3" -> Phi3ForCausalLM.load(modelDir, root, options);
      case "gemma" -> GemmaForCausalLM.load(modelDir, root, options);
      case "gemma2" -> Gemma2ForCausalLM.load(modelDir, root, options);
      default -> throw new EngineException("Cannot load " + modelDir.resolve("config.json")
          + ": model_type '" + type + "' is not a supported causal LM; supported are "
          + String.join(", ", CAUSAL_LM_TYPES));
    };
  }

  /**
   * Loads the encoder in {@code modelDir} (BERT, RoBERTa, XLM-RoBERTa, CamemBERT, MPNet, or a
   * decoder stack with {@link dev.llmbatch.engine.model.decoder.DecoderEmbedder}) for
   * embeddings; dispatches on {@code model_type} in {@link
   * dev.llmbatch.engine.model.encoder.Encoders}.
   */
  public static Encoder loadEncoder(Path modelDir, LoadOptions options) {
    if (dev.llmbatch.engine.model.decoder.DecoderEmbedder.isDecoder(modelDir)) {
      return dev.llmbatch.engine.model.decoder.DecoderEmbedder.load(modelDir, options);
    }
    dev.llmbatch.engine.runtime.TorchRuntime.engine(options.effectiveThreads());
    return dev.llmbatch.engine.model.encoder.Encoders.load(modelDir,
        dev.llmbatch.engine.runtime.TorchRuntime.device(options.device()), options.dtype());
  }

  /** Parses {@code dir/config.json}, failing with the path and the cause. */
  public static JsonNode readConfig(Path dir) {
    Path file = dir.resolve("config.json");
    if (!Files.isRegularFile(file)) {
      throw new EngineException("Cannot load a model from " + dir + ": no config.json there");
    }
    try {
      JsonNode root = new ObjectMapper().readTree(file.toFile());
      if (root == null || !root.isObject()) {
        throw new EngineException("Cannot read " + file + ": not a JSON object");
      }
      return root;
    } catch (IOException e) {
      throw new EngineException("Cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
