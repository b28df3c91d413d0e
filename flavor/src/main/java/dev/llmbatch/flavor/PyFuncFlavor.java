package dev.llmbatch.flavor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code flavors.python_function} block: the loader and its environment, and
 * {@code model_config}, the inference defaults given at log time (e.g. {@code max_new_tokens},
 * {@code temperature}), which sit below request parameters in precedence.
 *
 * @param loaderModule {@code loader_module}, {@code mlflow.transformers} for this flavor
 * @param pythonVersion {@code python_version}
 * @param env {@code env}: a mapping ({@code conda}, {@code virtualenv}) or, in old files, a string
 * @param modelConfig {@code model_config}, empty when not given
 * @param extra every other key, kept as written
 */
public record PyFuncFlavor(
    String loaderModule,
    String pythonVersion,
    Object env,
    Map<String, Object> modelConfig,
    Map<String, Object> extra) {

  /** The flavor's key under {@code flavors}. */
  public static final String NAME = "python_function";

  public PyFuncFlavor {
    modelConfig = modelConfig == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(modelConfig));
    extra = extra == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
  }
}
