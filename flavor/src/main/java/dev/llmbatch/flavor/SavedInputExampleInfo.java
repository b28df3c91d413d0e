package dev.llmbatch.flavor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code saved_input_example_info} block: where the input example was saved. File names differ
 * between MLflow versions ({@code serving_input_example.json} in 3.x,
 * {@code serving_input_payload.json} in 2.x), so they are always read from here.
 *
 * @param artifactPath {@code artifact_path}, e.g. {@code input_example.json}
 * @param type {@code type}, e.g. {@code json_object} or {@code dataframe}
 * @param pandasOrient {@code pandas_orient}, or null
 * @param servingInputPath {@code serving_input_path}, or null
 * @param extra every other key, kept as written
 */
public record SavedInputExampleInfo(
    String artifactPath, String type, String pandasOrient, String servingInputPath,
    Map<String, Object> extra) {
  public SavedInputExampleInfo {
    extra = extra == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
  }
}
