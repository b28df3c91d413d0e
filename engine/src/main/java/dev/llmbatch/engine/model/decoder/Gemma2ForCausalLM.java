package dev.llmbatch.engine.model.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.layers.Activation;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import dev.llmbatch.engine.model.layers.Norm;
import java.nio.file.Path;

/** Gemma 2 ({@code model_type: gemma2}): Gemma plus post-attention and post-feedforward norms, attention logit soft-capping, final logit soft-capping, {@code query_pre_attn_scalar} scaling and a sliding window on even layers. */
public final class Gemma2ForCausalLM {
  private Gemma2ForCausalLM() {}

  /** Settles config.json into the layers' config. */
  public static DecoderConfig config(JsonNode root, Path file) {
    HfConfig j = new HfConfig(root, file);
    Settled s = GemmaForCausalLM.gemma(j, "Gemma2ForCausalLM");
    s.sandwichNorms = true;
    s.attentionScale = (float) Math.pow(j.number("query_pre_attn_scalar", 256), -0.5);
    s.attnLogitSoftcap = (float) j.number("attn_logit_softcapping", 0);
    s.finalLogitSoftcap = (float) j.number("final_logit_softcapping", 0);
    // HF Gemma2Attention: sliding_window if not bool(layer_idx % 2)
    return s.window(j.has("sliding_window") ? j.integer("sliding_window") : 4096, i -> i % 2 == 0)
        .build();
  }

  /** Loads the checkpoint in {@code dir}. */
  public static CausalLm load(Path dir, JsonNode root, LoadOptions o) {
    return LlamaFamily.load(dir, config(root, dir.resolve("config.json")), o, false);
  }
}
