package dev.llmbatch.engine.model.decoder;

import dev.llmbatch.engine.model.layers.Activation;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import dev.llmbatch.engine.model.layers.Norm;
import dev.llmbatch.engine.model.layers.RopeConfig;

/**
 * A config.json being settled: the Llama reading of the keys first ({@link #llama}), then each
 * architecture adjusts what differs and calls {@link #build()}, which validates.
 */
final class Settled {
  String architecture;
  String modelType;
  int vocabSize;
  int hiddenSize;
  int intermediateSize;
  int numHiddenLayers;
  int numAttentionHeads;
  int numKeyValueHeads;
  int headDim;
  int maxPositionEmbeddings;
  Norm.Kind norm = Norm.Kind.RMS;
  float normEps;
  Activation activation;
  boolean gatedMlp = true;
  RopeConfig rope;
  boolean qkvBias;
  boolean outputBias;
  boolean mlpBias;
  boolean qkNorm;
  int[] slidingWindow;
  float attnLogitSoftcap;
  float finalLogitSoftcap;
  float attentionScale;
  float embeddingScale = 1f;
  boolean tieWordEmbeddings;
  boolean sandwichNorms;

  /**
   * Llama's reading: head_dim defaults to hidden / heads (or {@code defaultHeadDim} when positive),
   * num_key_value_heads to heads, attention_bias covers q, k, v and o, rope from
   * rope_theta/rope_scaling/partial_rotary_factor, full attention, scale 1/√head_dim.
   */
  static Settled llama(HfConfig j, String arch, int defaultHeadDim, boolean defaultTied) {
    Settled s = new Settled();
    s.architecture = arch;
    s.modelType = j.text("model_type", "?");
    s.vocabSize = j.integer("vocab_size");
    s.hiddenSize = j.integer("hidden_size");
    s.intermediateSize = j.integer("intermediate_size");
    s.numHiddenLayers = j.integer("num_hidden_layers");
    s.numAttentionHeads = j.integer("num_attention_heads");
    s.numKeyValueHeads = j.integer("num_key_value_heads", s.numAttentionHeads);
    int fallbackHeadDim = defaultHeadDim > 0 ? defaultHeadDim
        : s.hiddenSize / Math.max(1, s.numAttentionHeads);
    s.headDim = j.integer("head_dim", fallbackHeadDim);
    s.maxPositionEmbeddings = j.integer("max_position_embeddings", 2048);
    s.normEps = (float) j.number("rms_norm_eps", 1e-6);
    s.activation = Activation.of(j.text("hidden_act", "silu"));
    s.rope = j.rope(s.headDim, s.maxPositionEmbeddings, 10000.0);
    s.qkvBias = j.bool("attention_bias", false);
    s.outputBias = s.qkvBias;
    s.mlpBias = j.bool("mlp_bias", false);
    s.slidingWindow = new int[s.numHiddenLayers];
    s.attentionScale = (float) (1.0 / Math.sqrt(s.headDim));
    s.tieWordEmbeddings = j.bool("tie_word_embeddings", defaultTied);
    return s;
  }

  /** The same window on every layer {@code on} selects (a null or absent window: none). */
  Settled window(Integer window, java.util.function.IntPredicate on) {
    slidingWindow = DecoderConfig.windows(numHiddenLayers, window == null ? 0 : window, on);
    return this;
  }

  DecoderConfig build() {
    return new DecoderConfig(architecture, modelType, vocabSize, hiddenSize, intermediateSize,
        numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim, maxPositionEmbeddings, norm,
        normEps, activation, gatedMlp, rope, qkvBias, outputBias, mlpBias, qkNorm, slidingWindow,
        attnLogitSoftcap, finalLogitSoftcap, attentionScale, embeddingScale, tieWordEmbeddings,
        sandwichNorms);
  }
}
