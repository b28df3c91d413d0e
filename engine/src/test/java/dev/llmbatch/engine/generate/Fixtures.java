package dev.llmbatch.engine.generate;

import dev.llmbatch.engine.tokenizer.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;

/** Shared test fixtures: the reference tokenizer (the real Qwen3 one), read in place. */
final class Fixtures {
  private static TextTokenizer tokenizer;

  private Fixtures() {}

  static Path shared() {
    String shared = System.getProperty("llmbatch.shared.dir");
    if (shared == null) {
      throw new IllegalStateException("System property llmbatch.shared.dir is not set: run the"
          + " tests through Maven (Surefire sets it to the shared/ folder beside the checkout)");
    }
    return Path.of(shared);
  }

  static synchronized TextTokenizer tokenizer() {
    if (tokenizer == null) {
      Path dir = shared().resolve("reference/llama/mlflow/components/tokenizer");
      if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
        throw new IllegalStateException("Missing reference tokenizer " + dir + "/tokenizer.json");
      }
      tokenizer = TextTokenizer.load(dir);
    }
    return tokenizer;
  }

  /** The reference tiny Llama's goldens (transformers 4.46.3, FP32). */
  static com.fasterxml.jackson.databind.JsonNode goldens() {
    try {
      return new com.fasterxml.jackson.databind.ObjectMapper().readTree(
          shared().resolve("reference/llama/goldens.json").toFile());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Loads the reference tiny Llama on one CPU thread (the test machine is shared). */
  static dev.llmbatch.engine.model.CausalLm referenceModel() {
    return dev.llmbatch.engine.model.Architectures.loadCausalLm(
        shared().resolve("reference/llama/mlflow/model"),
        new dev.llmbatch.engine.model.LoadOptions("cpu", null, 1));
  }

  static int[] ints(com.fasterxml.jackson.databind.JsonNode a) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).asInt();
    }
    return out;
  }

  /** Logits that make {@code id} the argmax (greedy picks it). */
  static float[] forcing(int id) {
    float[] l = new float[tokenizer().vocabSize()];
    l[id] = 10f;
    return l;
  }
}
