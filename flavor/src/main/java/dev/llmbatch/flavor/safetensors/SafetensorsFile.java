package dev.llmbatch.flavor.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.flavor.FlavorException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One safetensors file. The header is read and validated when the file is opened, before anything
 * is allocated for tensor data; data is memory-mapped per tensor on request and never copied.
 *
 * <p>Layout: 8 bytes little-endian header length N, N bytes of JSON header, then the data section.
 * Each header entry is {@code name: {dtype, shape, data_offsets: [begin, end]}} with offsets
 * relative to the data section; the optional {@code __metadata__} entry maps strings to strings.
 */
public final class SafetensorsFile implements AutoCloseable {
  /** Largest header accepted; real headers are a few MB at most. */
  public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path path;
  private final FileChannel channel;
  private final long dataStart;
  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;

  private SafetensorsFile(
      Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
      Map<String, String> metadata) {
    this.path = path;
    this.channel = channel;
    this.dataStart = dataStart;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /** Opens and validates {@code path}; throws {@link FlavorException} naming the file and the fault. */
  public static SafetensorsFile open(Path path) {
    FileChannel channel;
    try {
      channel = FileChannel.open(path, StandardOpenOption.READ);
    } catch (IOException e) {
      throw new FlavorException("Cannot open safetensors file " + path + ": " + e, e);
    }
    try {
      long size = channel.size();
      if (size < 8) {
        throw bad(path, "file is " + size + " bytes, shorter than the 8-byte header length; the"
            + " file is truncated: copy or download it again");
      }
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(channel, lenBuf, 0);
      long headerLen = lenBuf.getLong(0);
      if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
        throw bad(path, "header length " + Long.toUnsignedString(headerLen) + " is outside 2.."
            + MAX_HEADER_BYTES + " bytes; this is not a safetensors file or it is corrupt: copy or"
            + " download it again");
      }
      if (8 + headerLen > size) {
        throw bad(path, "header length " + headerLen + " runs past the end of the " + size
            + "-byte file; the file is truncated: copy or download it again");
      }
      ByteBuffer header = ByteBuffer.allocate((int) headerLen);
      readFully(channel, header, 8);
      long dataStart = 8 + headerLen;
      long dataLen = size - dataStart;
      JsonNode root;
      try {
        root = JSON.readTree(new String(header.array(), StandardCharsets.UTF_8).trim());
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw bad(path, "header is not valid JSON (" + oneLine(e.getOriginalMessage())
            + "); the file is corrupt: copy or download it again");
      }
      if (root == null || !root.isObject()) {
        throw bad(path, "header is not a JSON object");
      }
      Map<String, TensorInfo> tensors = new LinkedHashMap<>();
      Map<String, String> metadata = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getKey().equals("__metadata__")) {
          e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
          continue;
        }
        tensors.put(e.getKey(), parseEntry(path, e.getKey(), e.getValue(), dataLen));
      }
      checkNoOverlap(path, tensors.values());
      return new SafetensorsFile(path, channel, dataStart, Collections.unmodifiableMap(tensors),
          Collections.unmodifiableMap(metadata));
    } catch (IOException e) {
      closeQuietly(channel);
      throw new FlavorException("Cannot read safetensors file " + path + ": " + e, e);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  private static TensorInfo parseEntry(Path path, String name, JsonNode entry, long dataLen) {
    if (!entry.isObject()) {
      throw bad(path, "entry '" + name + "' is not an object");
    }
    String dtypeName = entry.path("dtype").asText(null);
    DType dtype = DType.parse(dtypeName);
    if (dtype == null) {
      throw bad(path, "tensor '" + name + "' has unknown dtype '" + dtypeName + "' (supported: "
          + java.util.Arrays.toString(DType.values()) + "); convert the checkpoint to one of"
          + " them, e.g. save_pretrained with torch_dtype=torch.bfloat16");
    }
    JsonNode shapeNode = entry.path("shape");
    if (!shapeNode.isArray()) {
      throw bad(path, "tensor '" + name + "' has no 'shape' array");
    }
    long[] shape = new long[shapeNode.size()];
    long numel = 1;
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
        throw bad(path, "tensor '" + name + "' has an invalid dimension " + d + " in its shape");
      }
      shape[i] = d.asLong();
      try {
        numel = Math.multiplyExact(numel, shape[i]);
      } catch (ArithmeticException ex) {
        throw bad(path, "tensor '" + name + "' shape " + shapeNode + " overflows");
      }
    }
    JsonNode offsets = entry.path("data_offsets");
    if (!offsets.isArray() || offsets.size() != 2 || !offsets.get(0).isIntegralNumber()
        || !offsets.get(1).isIntegralNumber()) {
      throw bad(path, "tensor '" + name + "' has no valid 'data_offsets' [begin, end]");
    }
    long begin = offsets.get(0).asLong();
    long end = offsets.get(1).asLong();
    if (begin < 0 || end < begin) {
      throw bad(path, "tensor '" + name + "' has invalid data_offsets [" + begin + ", " + end + "]");
    }
    if (end > dataLen) {
      throw bad(path, "tensor '" + name + "' data_offsets [" + begin + ", " + end
          + "] run past the end of the data section (" + dataLen + " bytes); the file is"
          + " truncated or corrupt: copy or download it again");
    }
    long expected;
    try {
      expected = Math.multiplyExact(numel, dtype.bytes());
    } catch (ArithmeticException ex) {
      throw bad(path, "tensor '" + name + "' size overflows");
    }
    if (end - begin != expected) {
      throw bad(path, "tensor '" + name + "' is " + (end - begin) + " bytes but shape "
          + shapeNode + " of " + dtype + " needs " + expected);
    }
    return new TensorInfo(name, dtype, shape, begin, end, path);
  }

  private static void checkNoOverlap(Path path, Collection<TensorInfo> infos) {
    List<TensorInfo> sorted = new ArrayList<>(infos);
    sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    for (int i = 1; i < sorted.size(); i++) {
      TensorInfo prev = sorted.get(i - 1);
      TensorInfo cur = sorted.get(i);
      if (cur.begin() < prev.end() && cur.byteLength() > 0 && prev.byteLength() > 0) {
        throw bad(path, "tensors '" + prev.name() + "' [" + prev.begin() + ", " + prev.end()
            + ") and '" + cur.name() + "' [" + cur.begin() + ", " + cur.end() + ") overlap");
      }
    }
  }

  /** Collapses whitespace so that messages stay on one line. */
  static String oneLine(String s) {
    return String.valueOf(s).replaceAll("\\s+", " ").trim();
  }

  private static FlavorException bad(Path path, String reason) {
    return new FlavorException("Cannot read safetensors file " + path + ": " + reason);
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos + buf.position());
      if (n < 0) {
        throw new IOException("unexpected end of file");
      }
    }
    buf.flip();
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // already failing
    }
  }

  /** The file this was opened from. */
  public Path path() {
    return path;
  }

  /** Tensor entries in header order. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /** The {@code __metadata__} entry (empty when absent). */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** Total number of elements over all tensors, from the header alone. */
  public long parameterCount() {
    long n = 0;
    for (TensorInfo t : tensors.values()) {
      n += t.numel();
    }
    return n;
  }

  /**
   * Memory-maps one tensor's bytes: a read-only little-endian buffer over the file, no copy. A
   * single tensor over 2 GiB cannot be mapped in one buffer on Java 17 and is refused.
   */
  public ByteBuffer data(String name) {
    TensorInfo t = tensors.get(name);
    if (t == null) {
      throw new FlavorException("Cannot find tensor '" + name + "' in " + path);
    }
    return map(t);
  }

  ByteBuffer map(TensorInfo t) {
    if (t.byteLength() > Integer.MAX_VALUE) {
      throw new FlavorException("Cannot map tensor '" + t.name() + "' in " + path + ": it is "
          + t.byteLength() + " bytes, over the 2 GiB a single mapping may hold on Java 17");
    }
    try {
      return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), t.byteLength())
          .order(ByteOrder.LITTLE_ENDIAN);
    } catch (IOException e) {
      throw new FlavorException("Cannot map tensor '" + t.name() + "' in " + path + ": " + e, e);
    }
  }

  @Override
  public void close() {
    closeQuietly(channel);
  }
}
