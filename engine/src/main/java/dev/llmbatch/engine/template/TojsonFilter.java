package dev.llmbatch.engine.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.List;
import java.util.Map;

/**
 * {@code tojson} as transformers defines it for chat templates:
 * {@code json.dumps(x, ensure_ascii=False, indent=indent, separators=separators,
 * sort_keys=sort_keys)}, replacing Jinjava's compact Jackson output.
 */
final class TojsonFilter implements Filter {
  @Override
  public String getName() {
    return "tojson";
  }

  @Override
  public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
    return PyJson.dumps(var, args.length > 0 ? parseIndent(args[0]) : null, null, false, false);
  }

  @Override
  public Object filter(
      Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
    Object indent = args.length > 0 ? args[0] : kwargs.get("indent");
    Object separators = kwargs.get("separators");
    boolean sortKeys = Boolean.TRUE.equals(kwargs.get("sort_keys"));
    boolean ensureAscii = Boolean.TRUE.equals(kwargs.get("ensure_ascii"));
    return PyJson.dumps(var, indent, separators instanceof List ? (List<?>) separators : null,
        sortKeys, ensureAscii);
  }

  private static Object parseIndent(String s) {
    try {
      return s == null ? null : Long.parseLong(s);
    } catch (NumberFormatException e) {
      return s;
    }
  }
}
