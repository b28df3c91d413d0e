package dev.llmbatch.engine.serve;

import dev.llmbatch.engine.EngineException;

/**
 * MLmodel {@code metadata.prompt_template}, applied as MLflow does with Python's
 * {@code template.format(prompt=text)}: {@code {prompt}} is replaced, {@code {{} and {@code }}} are
 * literal braces, and any other field is an error (Python would raise KeyError), found at load time.
 */
public final class PromptTemplate {
  private final String template;

  private PromptTemplate(String template) {
    this.template = template;
  }

  /** Parses and checks a template; {@code null} gives the identity template. */
  public static PromptTemplate of(String template) {
    PromptTemplate t = new PromptTemplate(template);
    if (template != null) {
      t.apply(""); // fails now on a bad field rather than on every row
    }
    return t;
  }

  /** Whether a template is set. */
  public boolean isSet() {
    return template != null;
  }

  /** The template applied to {@code prompt}; the prompt itself when none is set. */
  public String apply(String prompt) {
    if (template == null) {
      return prompt;
    }
    StringBuilder out = new StringBuilder(template.length() + prompt.length());
    int i = 0;
    while (i < template.length()) {
      char c = template.charAt(i);
      if (c == '{' && template.startsWith("{{", i)) {
        out.append('{');
        i += 2;
      } else if (c == '}' && template.startsWith("}}", i)) {
        out.append('}');
        i += 2;
      } else if (c == '{') {
        int end = template.indexOf('}', i);
        String field = end < 0 ? null : template.substring(i + 1, end);
        if (!"prompt".equals(field)) {
          throw new EngineException("Cannot apply metadata.prompt_template '" + template
              + "': field {" + field + "} is not {prompt}; write literal braces as {{ and }}");
        }
        out.append(prompt);
        i = end + 1;
      } else if (c == '}') {
        throw new EngineException("Cannot apply metadata.prompt_template '" + template
            + "': single '}' at " + i + "; write literal braces as {{ and }}");
      } else {
        out.append(c);
        i++;
      }
    }
    return out.toString();
  }
}
