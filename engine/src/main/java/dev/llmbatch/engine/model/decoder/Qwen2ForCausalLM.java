package dev.llmbatch.engine.model.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.layers.Activation;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import dev.llmbatch.engine.model.layers.Norm;
import java.nio.file.Path;

/** Qwen2/Qwen2.5 ({@code model_type: qwen2}): Llama with biases on q, k and v (not o); a sliding window only when {@code use_sliding_window}, from layer {@code max_window_layers} on. */
public final class Qwen2ForCausalLM {
  private Qwen2ForCausalLM() {}

  /** Settles config.json into the layers' config. */
  public static DecoderConfig config(JsonNode root, Path file) {
    HfConfig j = new HfConfig(root, file);
    Settled s = Settled.llama(j, "Qwen2ForCausalLM", 0, false);
    s.qkvBias = true;
    s.outputBias = false;
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
