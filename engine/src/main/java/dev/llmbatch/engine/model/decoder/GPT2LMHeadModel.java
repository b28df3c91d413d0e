package dev.llmbatch.engine.model.decoder;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.layers.Activation;
import dev.llmbatch.engine.model.layers.Attention;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import dev.llmbatch.engine.model.layers.DecoderLayer;
import dev.llmbatch.engine.model.layers.Linear;
import dev.llmbatch.engine.model.layers.Norm;
import dev.llmbatch.engine.model.layers.PlainMlp;
import java.nio.file.Path;

/**
 * GPT-2 ({@code model_type: gpt2}): learned absolute positions, LayerNorm with bias, Conv1D weights
 * stored (in, out), fused {@code c_attn}, gelu_new MLP, LM head tied to {@code wte}. Checkpoints
 * name tensors with or without the {@code transformer.} prefix; both load.
 */
public final class GPT2LMHeadModel {
  private GPT2LMHeadModel() {}

  /** Settles config.json ({@code n_embd}, {@code n_layer}, …) into the layers' config. */
  public static DecoderConfig config(JsonNode root, Path file) {
    HfConfig j = new HfConfig(root, file);
    int hidden = j.integer("n_embd");
    int heads = j.integer("n_head");
    int layers = j.integer("n_layer");
    int headDim = hidden / heads;
    return new DecoderConfig("GPT2LMHeadModel", "gpt2", j.integer("vocab_size"), hidden,
        j.integer("n_inner", 4 * hidden), layers, heads, heads, headDim,
        j.integer("n_positions", 1024), Norm.Kind.LAYER,
        (float) j.number("layer_norm_epsilon", 1e-5),
        Activation.of(j.text("activation_function", "gelu_new")), false, null, true, true, true,
        false, new int[layers], 0f, 0f, (float) (1.0 / Math.sqrt(headDim)), 1f, true, false);
  }

  /** Loads the checkpoint in {@code dir}. */
  public static CausalLm load(Path dir, JsonNode root, LoadOptions o) {
    DecoderConfig c = config(root, dir.resolve("config.json"));
    return Assembly.load(dir, c, o, (ck, manager) -> {
      String p = ck.has("transformer.wte.weight") ? "transformer." : "";
      long hidden = c.hiddenSize();
      NDArray wte = ck.tensor(p + "wte.weight", c.vocabSize(), hidden);
      NDArray wpe = ck.tensor(p + "wpe.weight", c.maxPositionEmbeddings(), hidden);
      DecoderLayer[] layers = new DecoderLayer[c.numHiddenLayers()];
      for (int i = 0; i < layers.length; i++) {
        String h = p + "h." + i + ".";
        // packed as each layer is built (LlamaFamily says why)
        Linear cAttn = ck.pack(ck.conv1d(h + "attn.c_attn", hidden, 3 * hidden));
        Linear cProj = ck.pack(ck.conv1d(h + "attn.c_proj", hidden, hidden));
        Attention attn = new Attention(cAttn, cProj, null, null, null, c.numAttentionHeads(),
            c.numKeyValueHeads(), c.headDim(), 0, c.attentionScale(), 0f);
        PlainMlp mlp = new PlainMlp(
            ck.pack(ck.conv1d(h + "mlp.c_fc", hidden, c.intermediateSize())),
            ck.pack(ck.conv1d(h + "mlp.c_proj", c.intermediateSize(), hidden)), c.activation());
        layers[i] = new DecoderLayer(ck.norm(Norm.Kind.LAYER, h + "ln_1", hidden, c.normEps()),
            attn, null, ck.norm(Norm.Kind.LAYER, h + "ln_2", hidden, c.normEps()), mlp, null);
      }
      Norm lnF = ck.norm(Norm.Kind.LAYER, p + "ln_f", hidden, c.normEps());
      Linear lmHead = ck.lmHead("lm_head.weight", wte, true, c.vocabSize(), hidden);
      ck.pack(lmHead);
      return new DecoderModel(c, manager, wte, ck.mapsFile(wte), wpe, layers, lnF, lmHead, true,
          null, Assembly.spec(c, ck, o, manager));
    });
  }
}
