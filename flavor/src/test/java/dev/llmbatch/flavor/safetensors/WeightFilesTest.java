package dev.llmbatch.flavor.safetensors;

import static dev.llmbatch.flavor.testing.Messages.assertOneLine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightFilesTest {
  @TempDir Path tmp;

  @Test
  void opensShardedCheckpoint() {
    Path dir = FlavorFixtures.shardedWeights(tmp.resolve("m"));
    try (WeightFiles w = WeightFiles.open(dir)) {
      assertEquals(10, w.parameterCount());
      assertEquals(2, w.files().size());
      assertEquals(7f, w.data("b.weight").getFloat(0));
      assertEquals(DType.F32, w.storedDtype());
      assertEquals(List.of(2L, 3L), java.util.Arrays.stream(w.info("a.weight").shape()).boxed().toList());
    }
  }

  @Test
  void indexPointingOutsideRootIsRefused() throws IOException {
    Path dir = FlavorFixtures.shardedWeights(tmp.resolve("m"));
    Path index = dir.resolve(WeightFiles.INDEX);
    Files.writeString(index, Files.readString(index).replace("\"model-00002-of-00002.safetensors\"",
        "\"../../etc/passwd\""));
    FlavorException e = assertThrows(FlavorException.class, () -> WeightFiles.open(dir));
    assertOneLine(e.getMessage(), index.toString(), "weight_map", "'b.weight'", "../../etc/passwd",
        "outside the model folder", "plain file names");
  }

  @Test
  void indexNamingMissingShard() throws IOException {
    Path dir = FlavorFixtures.shardedWeights(tmp.resolve("m"));
    Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
    FlavorException e = assertThrows(FlavorException.class, () -> WeightFiles.open(dir));
    assertOneLine(e.getMessage(), "model-00002-of-00002.safetensors", "missing");
  }

  @Test
  void pickleOnlyFolderIsRefused() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("p"));
    Files.write(dir.resolve("pytorch_model.bin"), new byte[] {(byte) 0x80, 2});
    FlavorException e = assertThrows(FlavorException.class, () -> WeightFiles.open(dir));
    assertOneLine(e.getMessage(), dir.toString(), "pytorch_model.bin", "pickle is never executed",
        "save_pretrained(dir, safe_serialization=True)");
  }

  @Test
  void emptyFolderSaysWhatIsMissing() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("e"));
    FlavorException e = assertThrows(FlavorException.class, () -> WeightFiles.open(dir));
    assertOneLine(e.getMessage(), dir.toString(), "model.safetensors", "incomplete");
  }
}
