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

  /** Logits that make {@code id} the argmax (greedy picks it). */
  static float[] forcing(int id) {
    float[] l = new float[tokenizer().vocabSize()];
    l[id] = 10f;
    return l;
  }
}
