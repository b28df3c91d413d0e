package dev.llmbatch.engine.model.encoder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.engine.EngineException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * An encoder's config.json, in Hugging Face's key names, with the quirks of each family settled
 * here rather than in {@code forward}.
 *
 * @param modelType {@code bert}, {@code roberta}, {@code xlm-roberta} or {@code mpnet}
 * @param architecture {@code architectures[0]}, or a default per model type
 * @param vocabSize vocab_size
 * @param hiddenSize hidden_size
 * @param numHiddenLayers num_hidden_layers
 * @param numAttentionHeads num_attention_heads
 * @param intermediateSize intermediate_size
 * @param hiddenAct hidden_act ({@code gelu} = erf GELU; {@code gelu_new}/{@code gelu_pytorch_tanh} =
 *     tanh approximation; {@code relu})
 * @param layerNormEps layer_norm_eps
 * @param maxPositionEmbeddings max_position_embeddings (rows of the position table)
 * @param typeVocabSize type_vocab_size (0 when the model has no token type table, e.g. MPNet)
 * @param padTokenId pad_token_id
 * @param relativeAttentionNumBuckets relative_attention_num_buckets (MPNet only; else 0)
 */
public record EncoderConfig(
    String modelType,
    String architecture,
    int vocabSize,
    int hiddenSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int intermediateSize,
    String hiddenAct,
    double layerNormEps,
    int maxPositionEmbeddings,
    int typeVocabSize,
    int padTokenId,
    int relativeAttentionNumBuckets) {

  /** Model types this package implements. */
  public static final String SUPPORTED = "bert, roberta, xlm-roberta, camembert, mpnet";

  public EncoderConfig {
    if (hiddenSize <= 0 || numAttentionHeads <= 0 || hiddenSize % numAttentionHeads != 0) {
      throw new EngineException("Invalid encoder config: hidden_size " + hiddenSize
          + " must be a positive multiple of num_attention_heads " + numAttentionHeads);
    }
    if (numHiddenLayers <= 0 || intermediateSize <= 0 || vocabSize <= 0
        || maxPositionEmbeddings <= 0) {
      throw new EngineException("Invalid encoder config: num_hidden_layers, intermediate_size,"
          + " vocab_size and max_position_embeddings must be positive");
    }
    if (!(layerNormEps > 0)) {
      throw new EngineException("Invalid encoder config: layer_norm_eps " + layerNormEps
          + " must be positive");
    }
  }

  /** Width of one attention head. */
  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  /**
   * First position id. RoBERTa-style models (and MPNet) number positions from
   * {@code padding_idx + 1}, with the pad position reserved; BERT from 0.
   */
  public int positionOffset() {
    return switch (modelType) {
      case "roberta", "xlm-roberta", "camembert", "mpnet" -> padTokenId + 1;
      default -> 0;
    };
  }

  /** The longest input the position table allows. */
  public int maxTokens() {
    return maxPositionEmbeddings - positionOffset();
  }

  /** Reads {@code dir/config.json}. */
  public static EncoderConfig read(Path dir) {
    Path file = dir.resolve("config.json");
    JsonNode n;
    try {
      n = new ObjectMapper().readTree(Files.readAllBytes(file));
    } catch (IOException e) {
      throw new EngineException("Cannot read encoder config " + file + ": " + e.getMessage(), e);
    }
    String type = text(n, "model_type", "").toLowerCase(Locale.ROOT);
    String arch = n.path("architectures").path(0).asText(null);
    return switch (type) {
      case "bert", "roberta", "xlm-roberta", "camembert" -> new EncoderConfig(type,
          arch != null ? arch : defaultArchitecture(type),
          num(n, "vocab_size", file), num(n, "hidden_size", file),
          num(n, "num_hidden_layers", file), num(n, "num_attention_heads", file),
          num(n, "intermediate_size", file), text(n, "hidden_act", "gelu"),
          n.path("layer_norm_eps").asDouble(1e-12), num(n, "max_position_embeddings", file),
          n.path("type_vocab_size").asInt(type.equals("bert") ? 2 : 1),
          n.path("pad_token_id").asInt(type.equals("bert") ? 0 : 1), 0);
      case "mpnet" -> new EncoderConfig(type, arch != null ? arch : "MPNetModel",
          num(n, "vocab_size", file), num(n, "hidden_size", file),
          num(n, "num_hidden_layers", file), num(n, "num_attention_heads", file),
          num(n, "intermediate_size", file), text(n, "hidden_act", "gelu"),
          n.path("layer_norm_eps").asDouble(1e-5), num(n, "max_position_embeddings", file), 0,
          n.path("pad_token_id").asInt(1), n.path("relative_attention_num_buckets").asInt(32));
      default -> throw new EngineException("Cannot load encoder from " + file + ": model_type '"
          + type + "' is not supported (supported: " + SUPPORTED + ")");
    };
  }

  private static String defaultArchitecture(String type) {
    return switch (type) {
      case "roberta" -> "RobertaModel";
      case "xlm-roberta" -> "XLMRobertaModel";
      case "camembert" -> "CamembertModel";
      default -> "BertModel";
    };
  }

  private static String text(JsonNode n, String key, String dflt) {
    JsonNode v = n.get(key);
    return v == null || v.isNull() ? dflt : v.asText();
  }

  private static int num(JsonNode n, String key, Path file) {
    JsonNode v = n.get(key);
    if (v == null || !v.canConvertToInt()) {
      throw new EngineException("Cannot read encoder config " + file + ": key '" + key
          + "' is missing or not an integer (" + v + ")");
    }
    return v.asInt();
  }
}
