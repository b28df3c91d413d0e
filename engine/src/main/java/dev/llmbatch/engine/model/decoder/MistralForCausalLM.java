package dev.llmbatch.engine.model.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.layers.Activation;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import dev.llmbatch.engine.model.layers.Norm;
import java.nio.file.Path;

/** Mistral ({@code model_type: mistral}): Llama with a sliding attention window on every layer. */
public final class MistralForCausalLM {
  private MistralForCausalLM() {}

  /** Settles config.json into the layers' config. */
  public static DecoderConfig config(JsonNode root, Path file) {
    HfConfig j = new HfConfig(root, file);
    Settled s = Settled.llama(j, "MistralForCausalLM", 0, false);
    return s.window(j.has("sliding_window") ? j.integer("sliding_window") : null, i -> true)
        .build();
  }

  /** Loads the checkpoint in {@code dir}. */
  public static CausalLm load(Path dir, JsonNode root, LoadOptions o) {
    return LlamaFamily.load(dir, config(root, dir.resolve("config.json")), o, false);
  }
}
