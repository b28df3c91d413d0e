package dev.llmbatch.engine.template;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Copies request data into the plain values a template may see: str, int, float, bool, None,
 * list and dict, as Python's json would give them. Anything else (a Java object that could expose
 * methods) is refused, naming where it was found.
 */
final class TemplateValues {
  private TemplateValues() {}

  static Object copy(Object v, String where) {
    if (v == null || v instanceof String || v instanceof Boolean) {
      return v;
    }
    if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
      return ((Number) v).longValue();
    }
    if (v instanceof Double || v instanceof Float) {
      return ((Number) v).doubleValue();
    }
    if (v instanceof BigInteger) {
      BigInteger b = (BigInteger) v;
      return b.bitLength() < 64 ? (Object) b.longValue() : b;
    }
    if (v instanceof BigDecimal) {
      return ((BigDecimal) v).doubleValue();
    }
    if (v instanceof Map) {
      Map<Object, Object> out = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        if (!(e.getKey() instanceof String)) {
          throw new ChatTemplateException("Cannot render chat template: " + where
              + " has a non-string key " + e.getKey());
        }
        out.put(e.getKey(), copy(e.getValue(), where + "." + e.getKey()));
      }
      return out;
    }
    if (v instanceof Collection || v instanceof Object[]) {
      Collection<?> items = v instanceof Collection ? (Collection<?>) v : List.of((Object[]) v);
      List<Object> out = new ArrayList<>(items.size());
      int i = 0;
      for (Object item : items) {
        out.add(copy(item, where + "[" + i++ + "]"));
      }
      return out;
    }
    throw new ChatTemplateException("Cannot render chat template: " + where + " is a "
        + v.getClass().getName() + "; template values must be JSON-like (String, Number, Boolean,"
        + " null, List, Map)");
  }
}
