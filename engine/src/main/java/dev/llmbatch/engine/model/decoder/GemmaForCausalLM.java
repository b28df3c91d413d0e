package dev.llmbatch.engine.model.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.layers.Activation;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import dev.llmbatch.engine.model.layers.Norm;
import java.nio.file.Path;

/** Gemma ({@code model_type: gemma}): embeddings × √hidden, RMSNorm with (1 + w), GeGLU (tanh GELU), head_dim 256 by default, tied embeddings. */
public final class GemmaForCausalLM {
  private GemmaForCausalLM() {}

  /** Settles config.json into the layers' config. */
  public static DecoderConfig config(JsonNode root, Path file) {
    HfConfig j = new HfConfig(root, file);
    Settled s = gemma(j, "GemmaForCausalLM");
    return s.build();
  }

  /** What Gemma and Gemma2 share. */
  static Settled gemma(HfConfig j, String arch) {
    Settled s = Settled.llama(j, arch, 256, true);
    s.norm = Norm.Kind.RMS_ONE_PLUS;
    // HF reads hidden_activation; an old config with only hidden_act still means the tanh GELU
    s.activation = Activation.of(j.text("hidden_activation", "gelu_pytorch_tanh"));
    // the normalizer is a tensor in the compute dtype: round √hidden to float32 once
    s.embeddingScale = (float) Math.sqrt(s.hiddenSize);
    return s;
  }

  /** Loads the checkpoint in {@code dir}. */
  public static CausalLm load(Path dir, JsonNode root, LoadOptions o) {
    return LlamaFamily.load(dir, config(root, dir.resolve("config.json")), o, false);
  }
}
