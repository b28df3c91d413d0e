package dev.llmbatch.engine.model.layers;

import dev.llmbatch.engine.EngineException;
import java.util.Arrays;

/**
 * Everything the shared decoder layers need, settled from an architecture's config.json by that
 * architecture (missing {@code num_key_value_heads}, absent {@code head_dim}, old rope keys are
 * resolved before this record exists). Immutable and validated.
 *
 * @param architecture HF class name, e.g. {@code LlamaForCausalLM}
 * @param modelType config.json {@code model_type}
 * @param vocabSize {@code vocab_size}
 * @param hiddenSize {@code hidden_size}
 * @param intermediateSize {@code intermediate_size}
 * @param numHiddenLayers {@code num_hidden_layers}
 * @param numAttentionHeads {@code num_attention_heads}
 * @param numKeyValueHeads {@code num_key_value_heads} (= heads when absent)
 * @param headDim {@code head_dim} (= hidden / heads when absent)
 * @param maxPositionEmbeddings {@code max_position_embeddings}
 * @param norm which normalization every norm of the model uses
 * @param normEps {@code rms_norm_eps} / {@code layer_norm_epsilon}
 * @param activation the MLP activation
 * @param gatedMlp {@code down(act(gate(x)) * up(x))} when true, else {@code proj(act(fc(x)))}
 * @param rope rotary settings, or null for learned absolute positions (GPT-2)
 * @param qkvBias q/k/v projections carry biases
 * @param outputBias o_proj carries a bias
 * @param mlpBias MLP projections carry biases
 * @param qkNorm per-head RMSNorm on q and k before rotary (Qwen3)
 * @param slidingWindow per layer: attend to the last this-many positions, 0 = full attention
 * @param attnLogitSoftcap Gemma2 {@code attn_logit_softcapping}, 0 = none
 * @param finalLogitSoftcap Gemma2 {@code final_logit_softcapping}, 0 = none
 * @param attentionScale multiplier of q·k (1/√head_dim, or {@code query_pre_attn_scalar}^-½)
 * @param embeddingScale multiplier of the embeddings (Gemma: √hidden), 1 = none
 * @param tieWordEmbeddings the LM head is the embedding table
 * @param sandwichNorms Gemma2's extra post-attention and post-feedforward norms
 */
public record DecoderConfig(
    String architecture,
    String modelType,
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int numKeyValueHeads,
    int headDim,
    int maxPositionEmbeddings,
    Norm.Kind norm,
    float normEps,
    Activation activation,
    boolean gatedMlp,
    RopeConfig rope,
    boolean qkvBias,
    boolean outputBias,
    boolean mlpBias,
    boolean qkNorm,
    int[] slidingWindow,
    float attnLogitSoftcap,
    float finalLogitSoftcap,
    float attentionScale,
    float embeddingScale,
    boolean tieWordEmbeddings,
    boolean sandwichNorms) {

  public DecoderConfig {
    positive("vocab_size", vocabSize);
    positive("hidden_size", hiddenSize);
    positive("intermediate_size", intermediateSize);
    positive("num_hidden_layers", numHiddenLayers);
    positive("num_attention_heads", numAttentionHeads);
    positive("num_key_value_heads", numKeyValueHeads);
    positive("head_dim", headDim);
    positive("max_position_embeddings", maxPositionEmbeddings);
    if (numAttentionHeads % numKeyValueHeads != 0) {
      throw new EngineException("Invalid config.json for " + architecture
          + ": num_attention_heads=" + numAttentionHeads + " is not a multiple of"
          + " num_key_value_heads=" + numKeyValueHeads);
    }
    if (rope != null && rope.rotaryDim() > headDim) {
      throw new EngineException("Invalid config.json for " + architecture + ": rotary dim "
          + rope.rotaryDim() + " exceeds head_dim " + headDim);
    }
    if (slidingWindow == null || slidingWindow.length != numHiddenLayers) {
      throw new EngineException("Invalid decoder config: one sliding window per layer needed");
    }
    slidingWindow = slidingWindow.clone();
    if (!(normEps > 0) || !(attentionScale > 0) || !(embeddingScale > 0)) {
      throw new EngineException("Invalid config.json for " + architecture + ": norm eps "
          + normEps + ", attention scale " + attentionScale + " and embedding scale "
          + embeddingScale + " must be positive");
    }
  }

  private static void positive(String key, int v) {
    if (v <= 0) {
      throw new EngineException("Invalid config.json: " + key + "=" + v + " must be positive");
    }
  }

  /** Query heads per KV head (GQA group size). */
  public int groups() {
    return numAttentionHeads / numKeyValueHeads;
  }

  /** A per-layer window array: {@code window} on the layers {@code on} selects, else 0. */
  public static int[] windows(int layers, int window, java.util.function.IntPredicate on) {
    int[] w = new int[layers];
    for (int i = 0; i < layers; i++) {
      w[i] = window > 0 && on.test(i) ? window : 0;
    }
    return w;
  }

  @Override
  public int[] slidingWindow() {
    return slidingWindow.clone();
  }

  /** The window of layer {@code i}, 0 = full attention. */
  public int window(int i) {
    return slidingWindow[i];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DecoderConfig c && toString().equals(c.toString());
  }

  @Override
  public int hashCode() {
    return toString().hashCode();
  }

  @Override
  public String toString() {
    return "DecoderConfig[" + architecture + ", vocab=" + vocabSize + ", hidden=" + hiddenSize
        + ", ffn=" + intermediateSize + ", layers=" + numHiddenLayers + ", heads="
        + numAttentionHeads + "/" + numKeyValueHeads + "x" + headDim + ", maxPos="
        + maxPositionEmbeddings + ", norm=" + norm + "(" + normEps + "), act=" + activation
        + ", gated=" + gatedMlp + ", rope=" + rope + ", bias=" + qkvBias + "/" + outputBias + "/"
        + mlpBias + ", qkNorm=" + qkNorm + ", windows=" + Arrays.toString(slidingWindow)
        + ", softcap=" + attnLogitSoftcap + "/" + finalLogitSoftcap + ", scale=" + attentionScale
        + ", embScale=" + embeddingScale + ", tied=" + tieWordEmbeddings + ", sandwich="
        + sandwichNorms + "]";
  }
}
