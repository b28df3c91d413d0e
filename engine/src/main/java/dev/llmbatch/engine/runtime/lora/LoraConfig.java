package dev.llmbatch.engine.runtime.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.engine.EngineException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A PEFT {@code adapter_config.json} for LoRA, with the keys that decide the merge. Names are PEFT's.
 *
 * @param file where it was read from
 * @param r the rank
 * @param loraAlpha {@code lora_alpha}; the scale is {@code lora_alpha / r}
 * @param targetModules {@code target_modules}: module-name suffixes, or one regex (see
 *     {@link #targetRegex})
 * @param targetRegex {@code target_modules} when it is a string: a regex matched against the full
 *     module name; null when it is a list
 * @param fanInFanOut {@code fan_in_fan_out}: base weights stored {@code (in, out)} (GPT-2 Conv1D)
 * @param useRslora {@code use_rslora}: the scale is {@code lora_alpha / sqrt(r)}
 * @param rankPattern {@code rank_pattern}: per-module rank overrides (regex key to rank)
 * @param alphaPattern {@code alpha_pattern}: per-module alpha overrides
 * @param baseModelNameOrPath {@code base_model_name_or_path}, for messages
 */
public record LoraConfig(Path file, int r, double loraAlpha, List<String> targetModules,
    String targetRegex, boolean fanInFanOut, boolean useRslora, Map<String, Integer> rankPattern,
    Map<String, Double> alphaPattern, String baseModelNameOrPath) {
  /** The file name PEFT writes. */
  public static final String FILE_NAME = "adapter_config.json";

  public LoraConfig {
    if (r <= 0) {
      throw new EngineException("Cannot use LoRA adapter " + file + ": r is " + r
          + "; it must be a positive rank");
    }
    targetModules = List.copyOf(targetModules);
    rankPattern = Map.copyOf(rankPattern);
    alphaPattern = Map.copyOf(alphaPattern);
  }

  /** Reads and checks {@code dir/adapter_config.json}; refuses what a plain merge cannot honour. */
  public static LoraConfig read(Path dir) {
    Path file = dir.resolve(FILE_NAME);
    JsonNode n;
    try {
      n = new ObjectMapper().readTree(Files.readString(file));
    } catch (IOException e) {
      throw new EngineException("Cannot read PEFT adapter config " + file + ": " + e
          + "; the peft/ folder must hold the adapter_config.json PEFT's save_pretrained wrote", e);
    }
    String type = n.path("peft_type").asText("LORA");
    if (!type.equals("LORA")) {
      throw refuse(file, "peft_type is " + type + "; only LORA adapters are merged");
    }
    if (n.path("use_dora").asBoolean(false)) {
      throw refuse(file, "use_dora is true; DoRA adapters are not supported (merge the adapter in"
          + " PEFT with merge_and_unload() and log the merged model)");
    }
    String bias = n.path("bias").asText("none");
    if (!bias.equals("none")) {
      throw refuse(file, "bias is '" + bias + "'; only adapters trained with bias='none' are"
          + " supported");
    }
    JsonNode targets = n.path("target_modules");
    List<String> list = new ArrayList<>();
    String regex = null;
    if (targets.isTextual()) {
      regex = targets.asText();
    } else {
      targets.forEach(t -> list.add(t.asText()));
    }
    Map<String, Integer> ranks = new LinkedHashMap<>();
    n.path("rank_pattern").fields().forEachRemaining(e -> ranks.put(e.getKey(), e.getValue().asInt()));
    Map<String, Double> alphas = new LinkedHashMap<>();
    n.path("alpha_pattern").fields().forEachRemaining(e -> alphas.put(e.getKey(),
        e.getValue().asDouble()));
    int r = n.path("r").asInt(8);
    return new LoraConfig(file, r, n.path("lora_alpha").asDouble(8), list, regex,
        n.path("fan_in_fan_out").asBoolean(false), n.path("use_rslora").asBoolean(false), ranks,
        alphas, n.path("base_model_name_or_path").asText(null));
  }

  private static EngineException refuse(Path file, String why) {
    return new EngineException("Cannot use PEFT adapter " + file + ": " + why);
  }

  /** Whether {@code module} (e.g. {@code model.layers.0.self_attn.q_proj}) is a LoRA target. */
  public boolean targets(String module) {
    if (targetRegex != null) {
      return targetRegex.equals("all-linear") || Pattern.matches(targetRegex, module);
    }
    if (targetModules.contains("all-linear")) {
      return true;
    }
    for (String t : targetModules) {
      if (module.equals(t) || module.endsWith("." + t)) {
        return true;
      }
    }
    return false;
  }

  /** The rank of {@code module}: a matching {@code rank_pattern} entry, else {@code r}. */
  public int rank(String module) {
    return pattern(rankPattern, module, r);
  }

  /** The merge scale of {@code module}: {@code alpha / r}, or {@code alpha / sqrt(r)} with rsLoRA. */
  public double scale(String module) {
    int rank = rank(module);
    double alpha = pattern(alphaPattern, module, loraAlpha);
    return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
  }

  /** PEFT matches pattern keys against the end of the module name: {@code (.*\.)?key}. */
  private static <T> T pattern(Map<String, T> patterns, String module, T orElse) {
    for (Map.Entry<String, T> e : patterns.entrySet()) {
      if (Pattern.matches("(.*\\.)?" + e.getKey(), module)) {
        return e.getValue();
      }
    }
    return orElse;
  }
}
