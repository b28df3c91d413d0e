package dev.llmbatch.engine.model.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.layers.Attention;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import dev.llmbatch.engine.model.layers.DecoderLayer;
import dev.llmbatch.engine.model.layers.GatedMlp;
import dev.llmbatch.engine.model.layers.Linear;
import dev.llmbatch.engine.model.layers.Norm;
import dev.llmbatch.engine.model.layers.RmsNorm;
import dev.llmbatch.engine.model.layers.RotaryEmbedding;
import java.nio.file.Path;

/**
 * The checkpoint names of the Llama lineage ({@code model.embed_tokens}, {@code
 * model.layers.N.self_attn.q_proj}, …), shared by Llama, Mistral, Qwen2, Qwen3, Gemma, Gemma2 and
 * (with fused {@code qkv_proj}/{@code gate_up_proj}) Phi-3. What differs lives in {@link
 * DecoderConfig}.
 */
final class LlamaFamily {
  private LlamaFamily() {}

  /** Loads a Llama-lineage checkpoint; {@code fusedStored} for Phi-3's fused projections. */
  static DecoderModel load(Path dir, DecoderConfig c, LoadOptions o, boolean fusedStored) {
    return Assembly.load(dir, c, o, (ck, manager) -> build(ck, manager, c, o, fusedStored));
  }

  static DecoderModel build(Checkpoint ck, NDManager manager, DecoderConfig c,
      LoadOptions o, boolean fusedStored) {
    long hidden = c.hiddenSize();
    NDArray embed = ck.tensor("model.embed_tokens.weight", c.vocabSize(), hidden);
    RotaryEmbedding rotary = new RotaryEmbedding(c.rope(), c.headDim());
    DecoderLayer[] layers = new DecoderLayer[c.numHiddenLayers()];
    for (int i = 0; i < layers.length; i++) {
      layers[i] = layer(ck, c, i, rotary, fusedStored);
    }
    Norm norm = ck.norm(c.norm(), "model.norm", hidden, c.normEps());
    Linear lmHead = ck.lmHead("lm_head.weight", embed, c.tieWordEmbeddings(), c.vocabSize(),
        hidden);
    ck.pack(lmHead);
    return new DecoderModel(c, manager, embed, ck.mapsFile(embed), null, layers, norm, lmHead,
        c.tieWordEmbeddings(), rotary, Assembly.spec(c, ck, o, manager));
  }

  private static DecoderLayer layer(Checkpoint ck, DecoderConfig c, int i,
      RotaryEmbedding rotary, boolean fusedStored) {
    String p = "model.layers." + i + ".";
    long hidden = c.hiddenSize();
    long d = c.headDim();
    long q = c.numAttentionHeads() * d;
    long kv = c.numKeyValueHeads() * d;
    long ffn = c.intermediateSize();
    Linear qkv = fusedStored
        ? ck.linear(p + "self_attn.qkv_proj", c.qkvBias(), q + 2 * kv, hidden)
        : ck.fused(new String[] {p + "self_attn.q_proj", p + "self_attn.k_proj",
            p + "self_attn.v_proj"}, c.qkvBias(), new long[] {q, kv, kv}, hidden);
    Linear out = ck.linear(p + "self_attn.o_proj", c.outputBias(), hidden, q);
    Norm qNorm = c.qkNorm() ? ck.norm(c.norm(), p + "self_attn.q_norm", d, c.normEps()) : null;
    Norm kNorm = c.qkNorm() ? ck.norm(c.norm(), p + "self_attn.k_norm", d, c.normEps()) : null;
    // Fewer ops per decode step, same function: attention's scale goes into q_proj's rows (or
    // q_norm's scale: rotary is linear), and each RMSNorm's scale into the columns of the
    // projection it feeds; except into a weight the CPU holds in 16 bits (a BF16 or FP16
    // checkpoint's), which a scale would turn into float32 (even a power of two can push an FP16
    // value into the subnormals): twice the bytes a decode step streams, for one multiply saved
    // (the fused attention kernel scales its scores at no cost).
    float scale = c.attentionScale();
    float scoreScale = 1f;
    boolean qkvIn16Bits = qkv.packsIn16Bits(); // a scan of the weight: once
    if (qNorm instanceof RmsNorm r) {
      qNorm = r.scaled(scale);
    } else if (!qkvIn16Bits) {
      qkv = qkv.scaledOutputs(q, scale);
    } else {
      scoreScale = scale;
    }
    Norm input = ck.norm(c.norm(), p + "input_layernorm", hidden, c.normEps());
    if (input instanceof RmsNorm r && !qkvIn16Bits) {
      qkv = qkv.scaledInputs(r.weight());
      input = r.unweighted();
    }
    Attention attention = new Attention(qkv, out, qNorm, kNorm, rotary, c.numAttentionHeads(),
        c.numKeyValueHeads(), c.headDim(), c.window(i), scoreScale, c.attnLogitSoftcap());
    Linear gateUp = fusedStored
        ? ck.linear(p + "mlp.gate_up_proj", c.mlpBias(), 2 * ffn, hidden)
        : ck.fused(new String[] {p + "mlp.gate_proj", p + "mlp.up_proj"}, c.mlpBias(),
            new long[] {ffn, ffn}, hidden);
    // Gemma2: post_attention_layernorm closes the attention branch; the MLP has its own pair
    Norm preMlp = ck.norm(c.norm(), p + (c.sandwichNorms() ? "pre_feedforward_layernorm"
        : "post_attention_layernorm"), hidden, c.normEps());
    if (preMlp instanceof RmsNorm r && !gateUp.packsIn16Bits()) {
      gateUp = gateUp.scaledInputs(r.weight());
      preMlp = r.unweighted();
    }
    Linear down = ck.linear(p + "mlp.down_proj", c.mlpBias(), hidden, ffn);
    // each layer's linears pack as the layer is built (on the CPU): only one layer's weights are
    // ever held both as loaded and as packed
    ck.pack(qkv);
    ck.pack(out);
    GatedMlp mlp = new GatedMlp(
        ck.pack(GatedMlp.gateUp(gateUp, c.activation(), c.intermediateSize())), ck.pack(down),
        c.activation(), c.intermediateSize());
    if (c.sandwichNorms()) {
      return new DecoderLayer(input, attention,
          ck.norm(c.norm(), p + "post_attention_layernorm", hidden, c.normEps()), preMlp, mlp,
          ck.norm(c.norm(), p + "post_feedforward_layernorm", hidden, c.normEps()));
    }
    return new DecoderLayer(input, attention, null, preMlp, mlp, null);
  }
}
