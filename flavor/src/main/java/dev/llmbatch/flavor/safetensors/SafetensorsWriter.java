package dev.llmbatch.flavor.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.flavor.FlavorException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Writes safetensors files: an 8-byte little-endian header length, the JSON header padded with
 * spaces to a multiple of 8 (as the reference implementation does, so data stays aligned), then
 * the tensors back to back in the order given.
 */
public final class SafetensorsWriter {
  private SafetensorsWriter() {}

  /**
   * A tensor to write.
   *
   * @param dtype element type
   * @param shape dimensions
   * @param data little-endian bytes, exactly numel × dtype size
   */
  public record Tensor(DType dtype, long[] shape, byte[] data) {
    public Tensor {
      shape = shape.clone();
      long numel = 1;
      for (long d : shape) {
        numel = Math.multiplyExact(numel, d);
      }
      if (numel * dtype.bytes() != data.length) {
        throw new FlavorException("Cannot create tensor " + dtype + Arrays.toString(shape) + ": it"
            + " needs " + numel * dtype.bytes() + " bytes but " + data.length + " were given");
      }
    }

    @Override
    public long[] shape() {
      return shape.clone();
    }

    /** An F32 tensor from floats. */
    public static Tensor f32(long[] shape, float[] values) {
      ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      b.asFloatBuffer().put(values);
      return new Tensor(DType.F32, shape, b.array());
    }

    /** A BF16 tensor from floats (upper 16 bits of each float, rounded to nearest even). */
    public static Tensor bf16(long[] shape, float[] values) {
      ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
      for (float v : values) {
        int bits = Float.floatToRawIntBits(v);
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        b.putShort((short) (rounded >>> 16));
      }
      return new Tensor(DType.BF16, shape, b.array());
    }
  }

  /** Writes {@code tensors} (in iteration order) and {@code metadata} to {@code file}. */
  public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
    ObjectMapper json = new ObjectMapper();
    ObjectNode header = json.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode md = header.putObject("__metadata__");
      metadata.forEach(md::put);
    }
    long offset = 0;
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      ObjectNode t = header.putObject(e.getKey());
      t.put("dtype", e.getValue().dtype().name());
      ArrayNode shape = t.putArray("shape");
      for (long d : e.getValue().shape()) {
        shape.add(d);
      }
      ArrayNode offsets = t.putArray("data_offsets");
      offsets.add(offset);
      offset += e.getValue().data().length;
      offsets.add(offset);
    }
    byte[] headerBytes = header.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (headerBytes.length + 7) / 8 * 8;
    byte[] headerPadded = Arrays.copyOf(headerBytes, padded);
    Arrays.fill(headerPadded, headerBytes.length, padded, (byte) ' ');
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      try (OutputStream out = Files.newOutputStream(file)) {
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
        out.write(headerPadded);
        for (Tensor t : tensors.values()) {
          out.write(t.data());
        }
      }
    } catch (IOException e) {
      throw new FlavorException("Cannot write safetensors file " + file + ": " + e, e);
    }
  }
}
