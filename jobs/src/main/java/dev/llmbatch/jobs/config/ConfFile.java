package dev.llmbatch.jobs.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.llmbatch.jobs.JobException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A job's YAML conf file ({@code --conf-file conf/<job>.yaml}): a flat map of {@link JobOptions}
 * keys, plus an optional {@code spark:} map of Spark settings. Unknown keys are errors, so a typo
 * never silently falls back to a default.
 */
public final class ConfFile {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private ConfFile() {}

  /** Reads {@code file} into option values keyed by {@link JobOptions} names. */
  public static Map<String, Object> read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new JobException("Cannot read conf file " + file + ": no such file"
          + " (pass --conf-file with a path to a YAML file, e.g. conf/chat.yaml)");
    }
    JsonNode root;
    try {
      root = YAML.readTree(file.toFile());
    } catch (IOException e) {
      throw new JobException("Cannot read conf file " + file + ": not valid YAML: "
          + e.getMessage(), e);
    }
    return parse(root, file.toString());
  }

  /** Parses YAML text; {@code source} names it in errors. */
  public static Map<String, Object> parse(String yaml, String source) {
    try {
      return parse(YAML.readTree(yaml), source);
    } catch (IOException e) {
      throw new JobException("Cannot read conf file " + source + ": not valid YAML: "
          + e.getMessage(), e);
    }
  }

  private static Map<String, Object> parse(JsonNode root, String source) {
    Map<String, Object> out = new LinkedHashMap<>();
    if (root == null || root.isMissingNode() || root.isNull()) {
      return out;
    }
    if (!root.isObject()) {
      throw new JobException("Cannot read conf file " + source
          + ": the top level must be a map of option: value, found " + root.getNodeType());
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = normalize(e.getKey());
      JsonNode v = e.getValue();
      if (key.equals("spark")) {
        key = JobOptions.SPARK_CONF;
      }
      if (!JobOptions.ALL.contains(key)) {
        throw new JobException("Cannot read conf file " + source + ": unknown key '" + e.getKey()
            + "' (known keys: " + new TreeSet<>(JobOptions.ALL) + ", and spark)");
      }
      if (v.isNull()) {
        continue;
      }
      out.put(key, value(v, e.getKey(), source));
    }
    return out;
  }

  /** {@code max_tokens}, {@code maxTokens}-free: snake case maps onto the dashed option names. */
  static String normalize(String key) {
    return key.trim().replace('_', '-');
  }

  private static Object value(JsonNode v, String key, String source) {
    switch (v.getNodeType()) {
      case STRING:
        return v.textValue();
      case NUMBER:
        return v.numberValue();
      case BOOLEAN:
        return v.booleanValue();
      case ARRAY: {
        List<String> items = new ArrayList<>();
        for (JsonNode item : v) {
          if (item.isContainerNode()) {
            throw new JobException("Cannot read conf file " + source + ": key '" + key
                + "' holds a nested " + item.getNodeType() + "; list plain values");
          }
          items.add(item.asText());
        }
        return items;
      }
      case OBJECT: {
        Map<String, String> map = new LinkedHashMap<>();
        v.fields().forEachRemaining(f -> {
          if (f.getValue().isContainerNode()) {
            throw new JobException("Cannot read conf file " + source + ": key '" + key + "."
                + f.getKey() + "' must be a plain value");
          }
          map.put(f.getKey(), f.getValue().asText());
        });
        return map;
      }
      default:
        throw new JobException("Cannot read conf file " + source + ": key '" + key
            + "' has an unsupported value of type " + v.getNodeType());
    }
  }

}
