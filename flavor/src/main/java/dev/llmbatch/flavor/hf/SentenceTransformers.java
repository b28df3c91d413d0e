package dev.llmbatch.flavor.hf;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.internal.JsonFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A sentence-transformers model's pipeline: {@code modules.json} (Transformer, Pooling, Normalize,
 * ...), the Pooling module's {@code config.json} and {@code sentence_bert_config.json}. This is where
 * an embedding model says how to pool and whether to normalise; MLflow ignores it, we do not.
 *
 * @param dir the model folder
 * @param modules the modules in order
 * @param poolingModes the pooling modes switched on (usually one; several are concatenated)
 * @param wordEmbeddingDimension {@code word_embedding_dimension}, or null
 * @param includePrompt {@code include_prompt} (true when absent)
 * @param normalize whether a Normalize module follows pooling (L2 normalisation)
 * @param maxSeqLength {@code max_seq_length} from sentence_bert_config.json, or null
 * @param doLowerCase {@code do_lower_case} from sentence_bert_config.json, or null
 */
public record SentenceTransformers(Path dir, List<Module> modules, List<PoolingMode> poolingModes,
    Integer wordEmbeddingDimension, boolean includePrompt, boolean normalize, Integer maxSeqLength,
    Boolean doLowerCase) {
  /** The module list's file name. */
  public static final String MODULES_FILE = "modules.json";
  /** The transformer module's settings. */
  public static final String SBERT_CONFIG_FILE = "sentence_bert_config.json";

  /**
   * One entry of modules.json.
   *
   * @param idx {@code idx}
   * @param name {@code name}
   * @param path {@code path}, relative to the model folder ("" for the transformer itself)
   * @param type {@code type}, e.g. {@code sentence_transformers.models.Pooling}
   */
  public record Module(int idx, String name, String path, String type) {
    /** The class name without its package, e.g. {@code Pooling}. */
    public String simpleType() {
      return type == null ? "" : type.substring(type.lastIndexOf('.') + 1);
    }
  }

  public SentenceTransformers {
    modules = List.copyOf(modules);
    poolingModes = List.copyOf(poolingModes);
  }

  /** Reads the sentence-transformers files of {@code dir}; empty when it has no modules.json. */
  public static Optional<SentenceTransformers> read(Path dir) {
    Path modulesFile = dir.resolve(MODULES_FILE);
    if (!Files.exists(modulesFile)) {
      return Optional.empty();
    }
    JsonNode root;
    try {
      root = JsonFiles.mapper().readTree(modulesFile.toFile());
    } catch (java.io.IOException e) {
      throw new FlavorException("Cannot read " + modulesFile + ": not valid JSON ("
          + e.getMessage().replaceAll("\\s+", " ") + "); fix the file or save the model again", e);
    }
    if (root == null || !root.isArray()) {
      throw new FlavorException("Cannot read " + modulesFile + ": expected a JSON list of modules");
    }
    Path base = dir.toAbsolutePath().normalize();
    List<Module> modules = new ArrayList<>();
    for (JsonNode m : root) {
      String path = m.path("path").asText("");
      if (!base.resolve(path).normalize().startsWith(base) || Path.of(path).isAbsolute()) {
        throw new FlavorException("Cannot read " + modulesFile + ": module '" + m.path("name")
            .asText() + "' has path '" + path + "', outside the model folder " + base
            + "; module paths must be relative folders inside it");
      }
      modules.add(new Module(m.path("idx").asInt(modules.size()), m.path("name").asText(""), path,
          m.path("type").asText("")));
    }
    List<PoolingMode> modes = new ArrayList<>();
    Integer dim = null;
    boolean includePrompt = true;
    boolean normalize = false;
    for (Module m : modules) {
      if (m.simpleType().equals("Normalize")) {
        normalize = true;
      }
      if (m.simpleType().equals("Pooling")) {
        JsonNode p = JsonFiles.readObject(dir.resolve(m.path()).resolve("config.json"),
            "the Pooling module named in modules.json needs its config.json");
        for (PoolingMode mode : PoolingMode.values()) {
          if (p.path(mode.key()).asBoolean(false)) {
            modes.add(mode);
          }
        }
        // sentence-transformers >= 3 may write the mode as one string instead of flags
        if (p.hasNonNull("pooling_mode") && p.get("pooling_mode").isTextual()) {
          PoolingMode mode = parseMode(p.get("pooling_mode").asText(), dir.resolve(m.path()));
          if (!modes.contains(mode)) {
            modes.add(mode);
          }
        }
        dim = p.hasNonNull("word_embedding_dimension") ? p.get("word_embedding_dimension").asInt() : null;
        includePrompt = p.path("include_prompt").asBoolean(true);
      }
    }
    Integer maxSeq = null;
    Boolean lower = null;
    Path sbert = dir.resolve(SBERT_CONFIG_FILE);
    if (Files.exists(sbert)) {
      JsonNode s = JsonFiles.readObject(sbert, "fix the file or save the model again");
      maxSeq = s.hasNonNull("max_seq_length") ? s.get("max_seq_length").asInt() : null;
      lower = s.hasNonNull("do_lower_case") ? s.get("do_lower_case").asBoolean() : null;
    }
    return Optional.of(new SentenceTransformers(dir, modules, modes, dim, includePrompt, normalize,
        maxSeq, lower));
  }

  private static PoolingMode parseMode(String s, Path where) {
    return switch (s) {
      case "cls" -> PoolingMode.CLS;
      case "mean" -> PoolingMode.MEAN;
      case "max" -> PoolingMode.MAX;
      case "mean_sqrt_len_tokens" -> PoolingMode.MEAN_SQRT_LEN;
      case "weightedmean" -> PoolingMode.WEIGHTED_MEAN;
      case "lasttoken" -> PoolingMode.LAST_TOKEN;
      default -> throw new FlavorException("Cannot read " + where.resolve("config.json")
          + ": key 'pooling_mode' is '" + s + "'; expected one of cls, mean, max,"
          + " mean_sqrt_len_tokens, weightedmean, lasttoken");
    };
  }

  /** The single pooling mode, if exactly one is on. */
  public Optional<PoolingMode> poolingMode() {
    return poolingModes.size() == 1 ? Optional.of(poolingModes.get(0)) : Optional.empty();
  }

  /** {@code max_seq_length} as an OptionalInt. */
  public OptionalInt maxSeqLengthOpt() {
    return maxSeqLength == null ? OptionalInt.empty() : OptionalInt.of(maxSeqLength);
  }
}
