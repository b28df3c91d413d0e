package dev.llmbatch.engine.template;

import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The filter and test names a template uses, so that an unknown one fails at compile time as in
 * Jinja2 ("No filter named 'x'"), where Jinjava would silently render nothing.
 */
final class TemplateNames {
  private static final Pattern FILTER = Pattern.compile("\\|\\s*([A-Za-z_][A-Za-z0-9_]*)");
  private static final Pattern TEST =
      Pattern.compile("\\bis\\s+(?:not\\s+)?([A-Za-z_][A-Za-z0-9_]*)");

  private TemplateNames() {}

  /** Filter names in the tag bodies of Jinjava-ready source (string literals blanked out). */
  static Set<String> filters(String source) {
    return find(FILTER, codeOnly(source));
  }

  /** Test names after {@code is} / {@code is not}. */
  static Set<String> tests(String source) {
    return find(TEST, codeOnly(source));
  }

  private static Set<String> find(Pattern pattern, String code) {
    Set<String> names = new LinkedHashSet<>();
    Matcher m = pattern.matcher(code);
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }

  /** Tag bodies only, with string literals replaced by spaces; text outside tags dropped. */
  static String codeOnly(String source) {
    StringBuilder code = new StringBuilder();
    int i = 0;
    while (i + 1 < source.length()) {
      char c = source.charAt(i);
      char d = source.charAt(i + 1);
      if (c != '{' || (d != '{' && d != '%')) {
        i++;
        continue;
      }
      char closer = d == '{' ? '}' : '%';
      i += 2;
      char quote = 0;
      while (i < source.length()) {
        char x = source.charAt(i);
        if (quote != 0) {
          if (x == '\\') {
            i++;
          } else if (x == quote) {
            quote = 0;
          }
          code.append(' ');
        } else if (x == '\'' || x == '"') {
          quote = x;
          code.append(' ');
        } else if (x == closer && i + 1 < source.length() && source.charAt(i + 1) == '}') {
          i += 2;
          break;
        } else {
          code.append(x);
        }
        i++;
      }
      code.append('\n');
    }
    return code.toString();
  }
}
