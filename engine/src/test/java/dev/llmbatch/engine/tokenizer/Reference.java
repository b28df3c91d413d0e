package dev.llmbatch.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The shared reference fixtures (../shared/reference), read in place; fails loudly if absent. */
final class Reference {
  private Reference() {}

  static Path dir(String fixture) {
    String shared = System.getProperty("llmbatch.shared.dir");
    if (shared == null) {
      throw new IllegalStateException(
          "System property llmbatch.shared.dir is not set: run the tests through Maven (Surefire"
              + " sets it to the shared/ folder beside the checkout)");
    }
    Path dir = Path.of(shared, "reference", fixture);
    if (!Files.isRegularFile(dir.resolve("goldens.json"))) {
      throw new IllegalStateException("Missing reference fixture " + dir + "/goldens.json");
    }
    return dir;
  }

  static JsonNode goldens(String fixture) {
    try {
      return new ObjectMapper().readTree(dir(fixture).resolve("goldens.json").toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path tokenizerDir(String fixture) {
    return dir(fixture).resolve("mlflow/components/tokenizer");
  }

  static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }
}
