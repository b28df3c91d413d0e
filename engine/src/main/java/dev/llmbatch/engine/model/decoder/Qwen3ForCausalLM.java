package dev.llmbatch.engine.model.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.layers.Activation;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import dev.llmbatch.engine.model.layers.Norm;
import java.nio.file.Path;

/** Qwen3 ({@code model_type: qwen3}): Llama with per-head RMSNorm on q and k before rotary, head_dim independent of hidden / heads (default 128), optional {@code attention_bias}. */
public final class Qwen3ForCausalLM {
  private Qwen3ForCausalLM() {}

  /** Settles config.json into the layers' config. */
  public static DecoderConfig config(JsonNode root, Path file) {
    HfConfig j = new HfConfig(root, file);
    Settled s = Settled.llama(j, "Qwen3ForCausalLM", 128, false);
    s.qkNorm = true;
    int from = j.integer("max_window_layers", 0);
    Integer w = j.bool("use_sliding_window", false) && j.has("sliding_window")
        ? j.integer("sliding_window") : null;
    return s.window(w, i -> i >= from).build();
  }

  /** Loads the checkpoint in {@code dir}. */
  public static CausalLm load(Path dir, JsonNode root, LoadOptions o) {
    return LlamaFamily.load(dir, config(root, dir.resolve("config.json")), o, false);
  }
}
