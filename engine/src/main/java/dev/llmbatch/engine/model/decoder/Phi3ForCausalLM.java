package dev.llmbatch.engine.model.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.layers.Activation;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import dev.llmbatch.engine.model.layers.Norm;
import java.nio.file.Path;

/** Phi-3 ({@code model_type: phi3}): Llama with q/k/v fused in {@code qkv_proj} and gate/up in {@code gate_up_proj} (gate rows first), optional partial rotary and sliding window. */
public final class Phi3ForCausalLM {
  private Phi3ForCausalLM() {}

  /** Settles config.json into the layers' config. */
  public static DecoderConfig config(JsonNode root, Path file) {
    HfConfig j = new HfConfig(root, file);
    Settled s = Settled.llama(j, "Phi3ForCausalLM", 0, false);
    s.normEps = (float) j.number("rms_norm_eps", 1e-5);
    s.qkvBias = false;
    s.outputBias = false;
    return s.window(j.has("sliding_window") ? j.integer("sliding_window") : null, i -> true)
        .build();
  }

  /** Loads the checkpoint in {@code dir}. */
  public static CausalLm load(Path dir, JsonNode root, LoadOptions o) {
    return LlamaFamily.load(dir, config(root, dir.resolve("config.json")), o, true);
  }
}
