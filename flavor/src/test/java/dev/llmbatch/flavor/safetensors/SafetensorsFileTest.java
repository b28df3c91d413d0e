package dev.llmbatch.flavor.safetensors;

import static dev.llmbatch.flavor.testing.Messages.assertOneLine;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
  @TempDir Path tmp;

  private FlavorException openFails(Path file) {
    return assertThrows(FlavorException.class, () -> SafetensorsFile.open(file).close());
  }

  @Test
  void writesAndMapsTensors() {
    Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
    t.put("w", SafetensorsWriter.Tensor.f32(new long[] {2, 2}, new float[] {1, 2, 3, 4}));
    t.put("b", SafetensorsWriter.Tensor.bf16(new long[] {2}, new float[] {1.5f, -2f}));
    Path file = tmp.resolve("m.safetensors");
    SafetensorsWriter.write(file, t, Map.of("format", "pt"));
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      assertEquals(6, f.parameterCount());
      assertEquals("pt", f.metadata().get("format"));
      ByteBuffer w = f.data("w");
      float[] got = new float[4];
      w.asFloatBuffer().get(got);
      assertArrayEquals(new float[] {1, 2, 3, 4}, got);
      ByteBuffer b = f.data("b");
      assertEquals(1.5f, Float.intBitsToFloat((b.getShort(0) & 0xFFFF) << 16));
      assertEquals(-2f, Float.intBitsToFloat((b.getShort(2) & 0xFFFF) << 16));
      assertEquals(DType.BF16, f.tensors().get("b").dtype());
    }
  }

  @Test
  void truncatedFile() throws IOException {
    Path file = tmp.resolve("t.safetensors");
    Files.write(file, new byte[] {1, 2, 3});
    assertOneLine(openFails(file).getMessage(), file.toString(), "truncated", "copy or download it again");
  }

  @Test
  void truncatedHeader() {
    Path file = FlavorFixtures.rawSafetensors(tmp.resolve("h.safetensors"), 500, "{\"a\":", 0);
    assertOneLine(openFails(file).getMessage(), file.toString(), "header length 500",
        "truncated", "copy or download it again");
  }

  @Test
  void headerClaimingTwoToTheSixtyBytes() {
    Path file = FlavorFixtures.rawSafetensors(tmp.resolve("huge.safetensors"), 1L << 60, "{}", 0);
    assertOneLine(openFails(file).getMessage(), file.toString(),
        "header length " + (1L << 60), "not a safetensors file or it is corrupt",
        "copy or download it again");
  }

  @Test
  void offsetsPastEndOfFile() {
    String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
    Path file = FlavorFixtures.rawSafetensors(tmp.resolve("eof.safetensors"), header.length(), header, 8);
    assertOneLine(openFails(file).getMessage(), file.toString(), "tensor 'w'", "data_offsets [0, 16]",
        "past the end", "copy or download it again");
  }

  @Test
  void overlappingTensors() {
    String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
    Path file = FlavorFixtures.rawSafetensors(tmp.resolve("ov.safetensors"), header.length(), header, 12);
    assertOneLine(openFails(file).getMessage(), file.toString(), "'a'", "'b'", "overlap");
  }

  @Test
  void unknownDtype() {
    String header = "{\"w\":{\"dtype\":\"F8_E9M9\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    Path file = FlavorFixtures.rawSafetensors(tmp.resolve("dt.safetensors"), header.length(), header, 2);
    assertOneLine(openFails(file).getMessage(), file.toString(), "tensor 'w'",
        "unknown dtype 'F8_E9M9'", "supported: [F64, F32, F16, BF16", "convert the checkpoint");
  }

  @Test
  void shapeDisagreesWithByteLength() {
    String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}";
    Path file = FlavorFixtures.rawSafetensors(tmp.resolve("sz.safetensors"), header.length(), header, 8);
    assertOneLine(openFails(file).getMessage(), file.toString(), "tensor 'w'", "is 8 bytes",
        "needs 12");
  }

  @Test
  void headerNotJson() {
    Path file = FlavorFixtures.rawSafetensors(tmp.resolve("nj.safetensors"), 6, "{oops}", 0);
    assertOneLine(openFails(file).getMessage(), file.toString(), "not valid JSON");
  }
}
