package dev.llmbatch.engine.model.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import java.nio.file.Path;

/**
 * Llama 2/3/3.1/3.2 ({@code model_type: llama}): RMSNorm, SwiGLU, rotary with rope_scaling
 * {@code llama3}, {@code linear} or {@code dynamic}, optional {@code attention_bias} (q, k, v and o)
 * and {@code mlp_bias}, tied embeddings when {@code tie_word_embeddings}.
 */
public final class LlamaForCausalLM {
  private LlamaForCausalLM() {}

  /** Settles config.json into the layers' config. */
  public static DecoderConfig config(JsonNode root, Path file) {
    return Settled.llama(new HfConfig(root, file), "LlamaForCausalLM", 0, false).build();
  }

  /** Loads the checkpoint in {@code dir}. */
  public static CausalLm load(Path dir, JsonNode root, LoadOptions o) {
    return LlamaFamily.load(dir, config(root, dir.resolve("config.json")), o, false);
  }
}
