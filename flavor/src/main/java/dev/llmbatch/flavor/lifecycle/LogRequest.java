package dev.llmbatch.flavor.lifecycle;

import dev.llmbatch.flavor.FlavorException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What {@code llm-batch log} writes.
 *
 * @param checkpoint the local Hugging Face checkpoint folder (config.json, safetensors, tokenizer)
 * @param task a pipeline task or an llm/v1 task, checked against the model class
 * @param output the folder to create (must not exist, or be empty)
 * @param name {@code artifact_path}, default {@code model}
 * @param modelConfig inference defaults for python_function {@code model_config}
 * @param reference {@code REPO@SHA} for the reference-only form (no weights written), or null
 * @param register a registered model name to add a version to in the file-store registry, or null
 * @param torchDtype {@code torch_dtype} to record ({@code bfloat16}, {@code torch.float16}, ...),
 *     or null (MLflow writes null in checkpoint mode when none is given)
 * @param peft a PEFT adapter folder to log with the model ({@code peft/}), or null
 * @param copy copy files instead of hard-linking them into {@code model/}
 */
public record LogRequest(Path checkpoint, String task, Path output, String name,
    Map<String, Object> modelConfig, String reference, String register, String torchDtype,
    Path peft, boolean copy) {
  private static final Pattern REFERENCE = Pattern.compile(
      "([A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)?)@([0-9a-f]{40})");

  public LogRequest {
    if (checkpoint == null || task == null || task.isBlank() || output == null) {
      throw new FlavorException("Cannot log a model: --checkpoint, --task and --output are"
          + " required");
    }
    name = name == null || name.isBlank() ? "model" : name;
    modelConfig = modelConfig == null ? Map.of()
        : Collections.unmodifiableMap(new LinkedHashMap<>(modelConfig));
    if (reference != null && !REFERENCE.matcher(reference).matches()) {
      throw FlavorException.of("Invalid --reference: '%s'; expected REPO@SHA with a hub repo id"
          + " and the full 40-hex commit, e.g. Qwen/Qwen3-0.6B@%s", reference, "0".repeat(40));
    }
    if (torchDtype != null) {
      String d = torchDtype.trim().toLowerCase(Locale.ROOT).replaceFirst("^torch\\.", "");
      if (!d.equals("bfloat16") && !d.equals("float16") && !d.equals("float32")) {
        throw FlavorException.of("Invalid --torch-dtype: '%s' (use bfloat16, float16 or float32)",
            torchDtype);
      }
      torchDtype = "torch." + d;
    }
  }

  /** The hub repo id of {@link #reference}. */
  public String referenceRepo() {
    return reference == null ? null : reference.substring(0, reference.indexOf('@'));
  }

  /** The commit of {@link #reference}. */
  public String referenceRevision() {
    return reference == null ? null : reference.substring(reference.indexOf('@') + 1);
  }

  /**
   * Parses {@code k=v} model-config pairs: values read as JSON scalars when they are one
   * ({@code 64}, {@code 0.7}, {@code true}, {@code null}), else kept as strings.
   */
  public static Map<String, Object> parseModelConfig(Iterable<String> pairs) {
    Map<String, Object> out = new LinkedHashMap<>();
    if (pairs == null) {
      return out;
    }
    for (String pair : pairs) {
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw FlavorException.of("Invalid --model-config '%s': expected key=value", pair);
      }
      String key = pair.substring(0, eq).trim();
      String v = pair.substring(eq + 1).trim();
      Object value;
      if (v.matches("-?\\d{1,18}")) {
        value = Long.parseLong(v);
      } else if (v.matches("-?(\\d+\\.\\d*|\\.\\d+|\\d+)([eE][-+]?\\d+)?")) {
        value = Double.parseDouble(v);
      } else if (v.equals("true") || v.equals("false")) {
        value = Boolean.parseBoolean(v);
      } else if (v.equals("null")) {
        value = null;
      } else {
        value = v;
      }
      out.put(key, value);
    }
    return out;
  }
}
