package dev.llmbatch.flavor.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.flavor.FlavorException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * All safetensors weights of one model folder: a single {@code model.safetensors}, a sharded set
 * named by {@code model.safetensors.index.json}, or any other lone {@code *.safetensors} file.
 * Pickle checkpoints ({@code pytorch_model.bin}) are refused: pickle is never executed.
 */
public final class WeightFiles implements AutoCloseable {
  public static final String SINGLE = "model.safetensors";
  public static final String INDEX = "model.safetensors.index.json";

  private final Path dir;
  private final List<SafetensorsFile> files;
  private final Map<String, TensorInfo> tensors;
  private final Map<Path, SafetensorsFile> byPath;

  private WeightFiles(Path dir, List<SafetensorsFile> files) {
    this.dir = dir;
    this.files = files;
    Map<String, TensorInfo> all = new LinkedHashMap<>();
    Map<Path, SafetensorsFile> paths = new LinkedHashMap<>();
    for (SafetensorsFile f : files) {
      paths.put(f.path(), f);
      for (TensorInfo t : f.tensors().values()) {
        TensorInfo prev = all.putIfAbsent(t.name(), t);
        if (prev != null) {
          throw new FlavorException("Cannot read weights in " + dir + ": tensor '" + t.name()
              + "' is stored in both " + prev.file().getFileName() + " and "
              + f.path().getFileName());
        }
      }
    }
    this.tensors = Collections.unmodifiableMap(all);
    this.byPath = paths;
  }

  /** Whether {@code dir} holds safetensors weights this class can open. */
  public static boolean present(Path dir) {
    return Files.isRegularFile(dir.resolve(INDEX)) || Files.isRegularFile(dir.resolve(SINGLE))
        || !lonelySafetensors(dir).isEmpty();
  }

  /** Opens the weights of {@code dir}, validating every header; throws naming file and fix. */
  public static WeightFiles open(Path dir) {
    Path index = dir.resolve(INDEX);
    if (Files.isRegularFile(index)) {
      return new WeightFiles(dir, openShards(dir, index));
    }
    Path single = dir.resolve(SINGLE);
    if (Files.isRegularFile(single)) {
      return new WeightFiles(dir, List.of(SafetensorsFile.open(single)));
    }
    List<Path> others = lonelySafetensors(dir);
    if (others.size() == 1) {
      return new WeightFiles(dir, List.of(SafetensorsFile.open(others.get(0))));
    }
    if (others.size() > 1) {
      throw new FlavorException("Cannot read weights in " + dir + ": found " + others.size()
          + " .safetensors files but no " + INDEX + " saying which tensors each holds");
    }
    for (String pickle : List.of("pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt",
        "pytorch_model.pt")) {
      if (Files.exists(dir.resolve(pickle))) {
        throw new FlavorException("Cannot read weights in " + dir + ": only " + pickle
            + " (a pickle checkpoint) is there, and pickle is never executed. Convert it to"
            + " safetensors, e.g. in Python: AutoModel.from_pretrained(dir)"
            + ".save_pretrained(dir, safe_serialization=True), then log the model again");
      }
    }
    throw new FlavorException("Cannot read weights in " + dir + ": no " + SINGLE + " or "
        + INDEX + " there; the model folder is incomplete");
  }

  private static List<Path> lonelySafetensors(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".safetensors"))
          .filter(Files::isRegularFile).sorted().toList();
    } catch (IOException e) {
      throw new FlavorException("Cannot list " + dir + ": " + e, e);
    }
  }

  private static List<SafetensorsFile> openShards(Path dir, Path index) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(index.toFile());
    } catch (IOException e) {
      throw new FlavorException("Cannot read " + index + ": not valid JSON ("
          + SafetensorsFile.oneLine(e instanceof com.fasterxml.jackson.core.JsonProcessingException j
              ? j.getOriginalMessage() : e.getMessage()) + "); save the model again", e);
    }
    JsonNode map = root == null ? null : root.get("weight_map");
    if (map == null || !map.isObject()) {
      throw new FlavorException("Cannot read " + index + ": key 'weight_map' is missing or not an"
          + " object mapping tensor names to shard files");
    }
    Path rootDir = dir.toAbsolutePath().normalize();
    Map<String, List<String>> byShard = new TreeMap<>();
    map.fields().forEachRemaining(e -> byShard.computeIfAbsent(e.getValue().asText(),
        k -> new ArrayList<>()).add(e.getKey()));
    List<SafetensorsFile> files = new ArrayList<>();
    try {
      for (Map.Entry<String, List<String>> e : byShard.entrySet()) {
        Path shard = rootDir.resolve(e.getKey()).normalize();
        if (!shard.startsWith(rootDir) || e.getKey().isEmpty()) {
          throw new FlavorException("Cannot read " + index + ": weight_map entry for '"
              + e.getValue().get(0) + "' points to '" + e.getKey() + "', outside the model"
              + " folder " + rootDir + "; shard names must be plain file names in that folder");
        }
        if (!Files.isRegularFile(shard)) {
          throw new FlavorException("Cannot read " + index + ": shard '" + e.getKey()
              + "' named in weight_map is missing from " + rootDir);
        }
        SafetensorsFile f = SafetensorsFile.open(shard);
        files.add(f);
        for (String name : e.getValue()) {
          if (!f.tensors().containsKey(name)) {
            throw new FlavorException("Cannot read " + index + ": weight_map puts '" + name
                + "' in " + e.getKey() + ", but that shard has no such tensor");
          }
        }
      }
      return files;
    } catch (RuntimeException ex) {
      files.forEach(SafetensorsFile::close);
      throw ex;
    }
  }

  /** The model folder. */
  public Path dir() {
    return dir;
  }

  /** Every tensor, by name. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /** Whether a tensor exists. */
  public boolean has(String name) {
    return tensors.containsKey(name);
  }

  /** A tensor's entry; throws naming the folder when it is missing. */
  public TensorInfo info(String name) {
    TensorInfo t = tensors.get(name);
    if (t == null) {
      throw new FlavorException("Cannot find weight '" + name + "' in " + dir
          + ": the checkpoint does not match the architecture in config.json");
    }
    return t;
  }

  /** A tensor's bytes, memory-mapped (read-only, little-endian, no copy). */
  public ByteBuffer data(String name) {
    TensorInfo t = info(name);
    return byPath.get(t.file()).map(t);
  }

  /** Total number of parameters, from the headers alone. */
  public long parameterCount() {
    return files.stream().mapToLong(SafetensorsFile::parameterCount).sum();
  }

  /** Total bytes of tensor data. */
  public long byteCount() {
    return tensors.values().stream().mapToLong(TensorInfo::byteLength).sum();
  }

  /** The floating-point dtype holding most parameters (F32 when there is none). */
  public DType storedDtype() {
    Map<DType, Long> counts = new EnumMap<>(DType.class);
    for (TensorInfo t : tensors.values()) {
      if (t.dtype().isFloating()) {
        counts.merge(t.dtype(), t.numel(), Long::sum);
      }
    }
    return counts.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey)
        .orElse(DType.F32);
  }

  /** The files opened, in a stable order. */
  public List<Path> files() {
    return files.stream().map(SafetensorsFile::path).toList();
  }

  @Override
  public void close() {
    files.forEach(SafetensorsFile::close);
  }
}
