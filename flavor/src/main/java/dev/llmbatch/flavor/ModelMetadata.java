package dev.llmbatch.flavor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The top-level {@code metadata} block of an MLmodel file. For the Transformers flavor it holds the
 * llm/v1 {@code task} and the {@code prompt_template} (a string with a {@code {prompt}} placeholder,
 * applied after the chat template); prompt_template is never in the flavor block.
 *
 * @param task e.g. {@code llm/v1/chat}, or null
 * @param promptTemplate the template, or null
 * @param extra every other key, kept as written
 */
public record ModelMetadata(String task, String promptTemplate, Map<String, Object> extra) {
  /** Metadata with nothing in it. */
  public static final ModelMetadata EMPTY = new ModelMetadata(null, null, Map.of());

  public ModelMetadata {
    extra = extra == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    if (promptTemplate != null && !promptTemplate.contains("{prompt}")) {
      throw new FlavorException("Cannot use metadata.prompt_template '" + promptTemplate
          + "': it has no {prompt} placeholder; MLflow formats it with template.format(prompt=...)");
    }
  }

  /** Whether nothing is set. */
  public boolean isEmpty() {
    return task == null && promptTemplate == null && extra.isEmpty();
  }
}
