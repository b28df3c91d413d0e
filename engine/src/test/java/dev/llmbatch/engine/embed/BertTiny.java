package dev.llmbatch.engine.embed;

import ai.djl.Device;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.encoder.Encoders;
import dev.llmbatch.engine.runtime.ComputeDtype;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The bert-tiny reference encoder of ../shared/reference, loaded for the embed package's tests:
 * its model folder, the encoder on CPU in FP32 and its real tokenizer (special tokens, no
 * truncation or padding).
 */
record BertTiny(Path modelDir, Encoder encoder, HuggingFaceTokenizer hf) implements AutoCloseable {

  static BertTiny load() {
    Path root = Path.of(String.valueOf(System.getProperty("llmbatch.shared.dir")),
        "reference/bert-tiny/mlflow");
    if (!Files.isDirectory(root)) {
      throw new IllegalStateException("Reference model missing: " + root
          + " (system property llmbatch.shared.dir must name the shared/ folder)");
    }
    Path modelDir = root.resolve("model");
    Encoder encoder = Encoders.load(modelDir, Device.cpu(), ComputeDtype.FP32);
    try {
      return new BertTiny(modelDir, encoder, HuggingFaceTokenizer.builder()
          .optTokenizerPath(root.resolve("components/tokenizer")).optAddSpecialTokens(true)
          .optTruncation(false).optPadding(false).build());
    } catch (IOException e) {
      encoder.close();
      throw new UncheckedIOException(e);
    }
  }

  /** The token ids of {@code text}, as the service's {@link TokenEncoder} gives them. */
  int[] ids(String text) {
    long[] ids = hf.encode(text).getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  @Override
  public void close() {
    encoder.close();
    hf.close();
  }
}
