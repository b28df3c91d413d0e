package dev.llmbatch.engine.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightsTest {
  @TempDir Path dir;

  /** Writes a safetensors file with one F32 tensor "a" [2,3] and one BF16 tensor "b" [3]. */
  private void write() throws IOException {
    float[] a = {1f, -2f, 3.5f, 0.25f, -0.125f, 1e-3f};
    float[] b = {1.5f, -3.25f, 65280f}; // exactly representable in bf16
    ByteBuffer data = ByteBuffer.allocate(a.length * 4 + b.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : a) {
      data.putFloat(v);
    }
    for (float v : b) {
      data.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
    }
    Map<String, Object> header = new LinkedHashMap<>();
    header.put("a", Map.of("dtype", "F32", "shape", List.of(2, 3), "data_offsets", List.of(0, 24)));
    header.put("b", Map.of("dtype", "BF16", "shape", List.of(3), "data_offsets", List.of(24, 30)));
    byte[] h = new ObjectMapper().writeValueAsBytes(header);
    ByteBuffer out = ByteBuffer.allocate(8 + h.length + data.capacity()).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(h.length).put(h).put(data.array());
    Files.write(dir.resolve("model.safetensors"), out.array());
  }

  @Test
  void loadsF32ZeroCopyAndWidensBf16InJava() throws IOException {
    write();
    TorchRuntime.engine(1);
    try (WeightFiles files = WeightFiles.open(dir); NDManager m = NDManager.newBaseManager()) {
      Weights w = new Weights(files, m, ComputeDtype.FP32);
      NDArray a = w.get("a", 2, 3);
      assertArrayEquals(new float[] {1f, -2f, 3.5f, 0.25f, -0.125f, 1e-3f}, a.toFloatArray());
      NDArray b = w.get("b", -1);
      assertEquals(DataType.FLOAT32, b.getDataType());
      assertArrayEquals(new float[] {1.5f, -3.25f, 65280f}, b.toFloatArray());
      // a matmul through libtorch proves the engine runs offline from the Maven native jar
      assertArrayEquals(new float[] {1f + 4f + 10.5f}, a.get("0").reshape(1, 3)
          .matMul(m.create(new float[] {1f, -2f, 3f}).reshape(3, 1)).toFloatArray(), 1e-6f);
      EngineException e = assertThrows(EngineException.class, () -> w.get("a", 3, 2));
      assertEquals(true, e.getMessage().contains("'a'") && e.getMessage().contains("[2, 3]"),
          e.getMessage());
    }
  }
}
