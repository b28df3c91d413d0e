package dev.llmbatch.engine.template;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...)},
 * which is what transformers' chat-template {@code tojson} filter returns (no HTML escaping,
 * non-ASCII kept, {@code ", "}/{@code ": "} separators, floats as Python's repr).
 */
final class PyJson {
  private final String indent; // null: single line
  private final String itemSep;
  private final String keySep;
  private final boolean sortKeys;
  private final boolean ensureAscii;
  private final StringBuilder out = new StringBuilder();

  private PyJson(String indent, String itemSep, String keySep, boolean sortKeys,
      boolean ensureAscii) {
    this.indent = indent;
    this.itemSep = itemSep;
    this.keySep = keySep;
    this.sortKeys = sortKeys;
    this.ensureAscii = ensureAscii;
  }

  /**
   * @param indent null, a number of spaces, or an indent string (Python accepts both)
   * @param separators null or a 2-element list (item separator, key separator)
   */
  static String dumps(Object value, Object indent, List<?> separators, boolean sortKeys,
      boolean ensureAscii) {
    String ind = indent == null ? null
        : indent instanceof Number ? " ".repeat(Math.max(0, ((Number) indent).intValue()))
        : indent.toString();
    String itemSep = ind == null ? ", " : ",";
    String keySep = ": ";
    if (separators != null) {
      if (separators.size() != 2) {
        throw RenderState.fail("Cannot render chat template: tojson separators must be a pair");
      }
      itemSep = String.valueOf(separators.get(0));
      keySep = String.valueOf(separators.get(1));
    }
    PyJson json = new PyJson(ind, itemSep, keySep, sortKeys, ensureAscii);
    json.write(value, 0);
    return json.out.toString();
  }

  private void write(Object v, int level) {
    if (v == null) {
      out.append("null");
    } else if (v instanceof String || v instanceof com.hubspot.jinjava.objects.SafeString) {
      string(v.toString());
    } else if (v instanceof Boolean) {
      out.append((Boolean) v ? "true" : "false");
    } else if (v instanceof Double || v instanceof Float || v instanceof BigDecimal) {
      out.append(floatRepr(((Number) v).doubleValue()));
    } else if (v instanceof Number) {
      out.append(v instanceof BigInteger ? v.toString() : Long.toString(((Number) v).longValue()));
    } else if (v instanceof Map) {
      object((Map<?, ?>) v, level);
    } else if (v instanceof Collection) {
      array(new ArrayList<>((Collection<?>) v), level);
    } else if (v instanceof Map.Entry) { // dict.items() pairs are tuples: JSON arrays
      Map.Entry<?, ?> e = (Map.Entry<?, ?>) v;
      array(List.of(e.getKey(), e.getValue()), level);
    } else if (v instanceof Object[]) {
      array(List.of((Object[]) v), level);
    } else {
      throw RenderState.fail("Cannot render chat template: tojson: Object of type "
          + PyMethods.typeName(v) + " is not JSON serializable");
    }
  }

  private void newline(int level) {
    if (indent != null) {
      out.append('\n');
      for (int i = 0; i < level; i++) {
        out.append(indent);
      }
    }
  }

  private void array(List<?> items, int level) {
    if (items.isEmpty()) {
      out.append("[]");
      return;
    }
    out.append('[');
    for (int i = 0; i < items.size(); i++) {
      if (i > 0) {
        out.append(itemSep);
      }
      newline(level + 1);
      write(items.get(i), level + 1);
    }
    newline(level);
    out.append(']');
  }

  private void object(Map<?, ?> map, int level) {
    if (map.isEmpty()) {
      out.append("{}");
      return;
    }
    List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
    if (sortKeys) {
      entries.sort((a, b) -> key(a.getKey()).compareTo(key(b.getKey())));
    }
    out.append('{');
    for (int i = 0; i < entries.size(); i++) {
      if (i > 0) {
        out.append(itemSep);
      }
      newline(level + 1);
      string(key(entries.get(i).getKey()));
      out.append(keySep);
      write(entries.get(i).getValue(), level + 1);
    }
    newline(level);
    out.append('}');
  }

  /** Python converts int, float, bool and None keys to their JSON text. */
  private static String key(Object k) {
    if (k == null) {
      return "null";
    }
    if (k instanceof Boolean) {
      return (Boolean) k ? "true" : "false";
    }
    if (k instanceof Double || k instanceof Float) {
      return floatRepr(((Number) k).doubleValue());
    }
    return k.toString();
  }

  private void string(String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        case '\b': out.append("\\b"); break;
        case '\f': out.append("\\f"); break;
        default:
          if (c < 0x20 || (ensureAscii && c > 0x7e)) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
      }
    }
    out.append('"');
  }

  /** Python's float repr: shortest round-trip digits, exponent form below 1e-4 or from 1e16. */
  static String floatRepr(double d) {
    if (Double.isNaN(d)) {
      return "NaN";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "Infinity" : "-Infinity";
    }
    if (d == 0) {
      return (1 / d < 0) ? "-0.0" : "0.0";
    }
    BigDecimal bd = new BigDecimal(Double.toString(d)).stripTrailingZeros();
    String digits = bd.unscaledValue().abs().toString();
    int exp = digits.length() - 1 - bd.scale(); // d = digits[0].digits[1:] x 10^exp
    String sign = d < 0 ? "-" : "";
    if (exp >= -4 && exp < 16) {
      String plain = bd.abs().toPlainString();
      return sign + (plain.contains(".") ? plain : plain + ".0");
    }
    String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
    return sign + mantissa + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "")
        + Math.abs(exp);
  }
}
