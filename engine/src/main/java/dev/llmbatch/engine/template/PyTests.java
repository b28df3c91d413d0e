package dev.llmbatch.engine.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.objects.SafeString;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Jinja2 tests whose Python meaning differs from Jinjava's: a {@code str} is {@code iterable} and
 * a {@code sequence} (Llama 3.1 relies on it to JSON-encode tool results), a dict is a
 * {@code mapping}.
 */
final class PyTests {
  private PyTests() {}

  static List<ExpTest> all() {
    return List.of(
        test("iterable", v -> isStr(v) || v instanceof Collection || v instanceof Map
            || v instanceof Object[]),
        test("sequence", v -> isStr(v) || v instanceof Collection || v instanceof Map
            || v instanceof Object[]),
        test("mapping", v -> v instanceof Map));
  }

  private static boolean isStr(Object v) {
    return v instanceof String || v instanceof SafeString;
  }

  private static ExpTest test(String name, java.util.function.Predicate<Object> predicate) {
    return new ExpTest() {
      @Override
      public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
        return predicate.test(var);
      }

      @Override
      public String getName() {
        return name;
      }
    };
  }
}
