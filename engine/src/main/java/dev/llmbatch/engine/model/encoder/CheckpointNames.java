package dev.llmbatch.engine.model.encoder;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.flavor.safetensors.WeightFiles;

/**
 * Where each weight lives in a Hugging Face encoder checkpoint: the one place checkpoint names are
 * mapped. A bare {@code BertModel} saves {@code embeddings.…}; a task model saves the same under its
 * base-model prefix ({@code bert.}, {@code roberta.}, {@code mpnet.}).
 */
final class CheckpointNames {
  private final String prefix;
  private final boolean mpnet;

  private CheckpointNames(String prefix, boolean mpnet) {
    this.prefix = prefix;
    this.mpnet = mpnet;
  }

  /** Finds the prefix under which {@code files} hold the word embeddings. */
  static CheckpointNames detect(EncoderConfig config, WeightFiles files) {
    String base = switch (config.modelType()) {
      case "roberta", "xlm-roberta", "camembert" -> "roberta.";
      case "mpnet" -> "mpnet.";
      default -> "bert.";
    };
    for (String p : new String[] {"", base}) {
      if (files.has(p + "embeddings.word_embeddings.weight")) {
        return new CheckpointNames(p, config.modelType().equals("mpnet"));
      }
    }
    throw new EngineException("Cannot load encoder weights from " + files.dir()
        + ": neither 'embeddings.word_embeddings.weight' nor '" + base
        + "embeddings.word_embeddings.weight' is in the checkpoint; is this a "
        + config.modelType() + " model?");
  }

  String wordEmbeddings() {
    return prefix + "embeddings.word_embeddings.weight";
  }

  String positionEmbeddings() {
    return prefix + "embeddings.position_embeddings.weight";
  }

  String tokenTypeEmbeddings() {
    return prefix + "embeddings.token_type_embeddings.weight";
  }

  String embeddingsNorm() {
    return prefix + "embeddings.LayerNorm";
  }

  String relativeAttentionBias() {
    return prefix + "encoder.relative_attention_bias.weight";
  }

  String pooler() {
    return prefix + "pooler.dense";
  }

  String query(int i) {
    return layer(i) + (mpnet ? "attention.attn.q" : "attention.self.query");
  }

  String key(int i) {
    return layer(i) + (mpnet ? "attention.attn.k" : "attention.self.key");
  }

  String value(int i) {
    return layer(i) + (mpnet ? "attention.attn.v" : "attention.self.value");
  }

  String attentionOutput(int i) {
    return layer(i) + (mpnet ? "attention.attn.o" : "attention.output.dense");
  }

  String attentionNorm(int i) {
    return layer(i) + (mpnet ? "attention.LayerNorm" : "attention.output.LayerNorm");
  }

  String intermediate(int i) {
    return layer(i) + "intermediate.dense";
  }

  String output(int i) {
    return layer(i) + "output.dense";
  }

  String outputNorm(int i) {
    return layer(i) + "output.LayerNorm";
  }

  private String layer(int i) {
    return prefix + "encoder.layer." + i + ".";
  }
}
