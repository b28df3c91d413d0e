package dev.llmbatch.flavor.uri;

import dev.llmbatch.flavor.FlavorException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A parsed {@code models:/} URI: {@code models:/<name>/<version>}, {@code models:/<name>/<stage>},
 * {@code models:/<name>/latest}, {@code models:/<name>@<alias>} (each optionally followed by
 * {@code /<sub path>}), or MLflow 3's {@code models:/<model_id>}.
 *
 * @param name registered model name (null for a model id)
 * @param selector how the version is chosen (null for a model id)
 * @param value the version number, stage or alias
 * @param modelId the logged model id, or null
 * @param subPath a path inside the model's artifacts, or empty
 */
public record RegistryUri(String name, Selector selector, String value, String modelId,
    String subPath) {
  private static final Pattern MODEL_ID = Pattern.compile("m-[0-9a-f]{32}");

  /** How a version is picked. */
  public enum Selector { VERSION, STAGE, LATEST, ALIAS }

  /** Parses {@code uri}; throws naming the URI and the accepted forms. */
  public static RegistryUri parse(String uri) {
    if (!uri.startsWith("models:")) {
      throw invalid(uri, "it does not start with models:/");
    }
    String rest = uri.substring("models:".length());
    if (rest.startsWith("//")) {
      throw invalid(uri, "profile-qualified models:// URIs are not supported");
    }
    rest = rest.replaceFirst("^/+", "").replaceAll("/+$", "");
    int slash = rest.indexOf('/');
    String head = slash < 0 ? rest : rest.substring(0, slash);
    String tail = slash < 0 ? "" : rest.substring(slash + 1);
    int at = head.indexOf('@');
    if (at >= 0) {
      String name = head.substring(0, at);
      String alias = head.substring(at + 1);
      if (name.isEmpty() || alias.isEmpty()) {
        throw invalid(uri, "expected models:/<name>@<alias>");
      }
      return new RegistryUri(name, Selector.ALIAS, alias, null, tail);
    }
    if (head.isEmpty()) {
      throw invalid(uri, "no model name");
    }
    if (tail.isEmpty()) {
      if (MODEL_ID.matcher(head).matches()) {
        return new RegistryUri(null, null, null, head, "");
      }
      throw invalid(uri, "'" + head + "' needs a version, a stage, 'latest' or @alias after it"
          + " (or is not an MLflow 3 model id m-<32 hex>)");
    }
    int slash2 = tail.indexOf('/');
    String sel = slash2 < 0 ? tail : tail.substring(0, slash2);
    String sub = slash2 < 0 ? "" : tail.substring(slash2 + 1);
    if (sel.chars().allMatch(Character::isDigit)) {
      return new RegistryUri(head, Selector.VERSION, Long.toString(Long.parseLong(sel)), null, sub);
    }
    if (sel.toLowerCase(Locale.ROOT).equals("latest")) {
      return new RegistryUri(head, Selector.LATEST, "latest", null, sub);
    }
    return new RegistryUri(head, Selector.STAGE, sel, null, sub);
  }

  private static FlavorException invalid(String uri, String why) {
    return FlavorException.of("Invalid model URI: %s (%s). Forms: models:/<name>/<version>,"
        + " models:/<name>/<stage>, models:/<name>/latest, models:/<name>@<alias>,"
        + " models:/<model_id>", uri, why);
  }
}
