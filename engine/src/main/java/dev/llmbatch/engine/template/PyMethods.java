package dev.llmbatch.engine.template;

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/** Dispatch of Python method calls on {@code str}, {@code dict} and {@code list} values. */
final class PyMethods {
  private PyMethods() {}

  static Object string(String s, String name, Object[] a) {
    switch (name) {
      case "strip":
        return PyStrings.strip(s, optString(a, 0, name));
      case "lstrip":
        return PyStrings.lstrip(s, optString(a, 0, name));
      case "rstrip":
        return PyStrings.rstrip(s, optString(a, 0, name));
      case "startswith":
      case "endswith":
        return affix(s, name, a);
      case "split":
        return PyStrings.split(s, optString(a, 0, name), optInt(a, 1, -1, name));
      case "rsplit":
        return PyStrings.rsplit(s, optString(a, 0, name), optInt(a, 1, -1, name));
      case "splitlines":
        return PyStrings.splitlines(s);
      case "upper":
        return s.toUpperCase(Locale.ROOT);
      case "lower":
        return s.toLowerCase(Locale.ROOT);
      case "title":
        return PyStrings.title(s);
      case "capitalize":
        return PyStrings.capitalize(s);
      case "replace":
        return PyStrings.replace(s, str(arg(a, 0, name), name), str(arg(a, 1, name), name),
            optInt(a, 2, -1, name));
      case "count":
        return (long) PyStrings.count(s, str(arg(a, 0, name), name));
      case "find":
        return (long) PyStrings.find(s, str(arg(a, 0, name), name), false);
      case "rfind":
        return (long) PyStrings.find(s, str(arg(a, 0, name), name), true);
      case "index": {
        long at = PyStrings.find(s, str(arg(a, 0, name), name), false);
        if (at < 0) {
          throw RenderState.fail("Cannot render chat template: str.index(): substring not found");
        }
        return at;
      }
      case "join":
        return join(s, arg(a, 0, name));
      case "isdigit":
        return !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
      case "isalpha":
        return !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
      case "isalnum":
        return !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
      case "isspace":
        return PyStrings.isSpace(s);
      case "isupper":
        return s.codePoints().anyMatch(Character::isUpperCase)
            && s.codePoints().noneMatch(Character::isLowerCase);
      case "islower":
        return s.codePoints().anyMatch(Character::isLowerCase)
            && s.codePoints().noneMatch(Character::isUpperCase);
      default:
        throw noMethod("str", name);
    }
  }

  static Object dict(Map<?, ?> map, String name, Object[] a) {
    switch (name) {
      case "get":
        Object key = arg(a, 0, name);
        return map.containsKey(key) ? map.get(key) : (a.length > 1 ? a[1] : null);
      case "items": {
        List<Object> items = new ArrayList<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
          items.add(new AbstractMap.SimpleImmutableEntry<>(e.getKey(), e.getValue()));
        }
        return items;
      }
      case "keys":
        return new ArrayList<>(map.keySet());
      case "values":
        return new ArrayList<>(map.values());
      default:
        throw noMethod("dict", name);
    }
  }

  static Object list(List<?> list, String name, Object[] a) {
    switch (name) {
      case "index": {
        int at = indexOf(list, arg(a, 0, name));
        if (at < 0) {
          throw RenderState.fail("Cannot render chat template: list.index(): value not in list");
        }
        return (long) at;
      }
      case "count": {
        Object x = arg(a, 0, name);
        return list.stream().filter(v -> pyEquals(v, x)).count();
      }
      default:
        throw noMethod("list", name);
    }
  }

  private static int indexOf(List<?> list, Object x) {
    for (int i = 0; i < list.size(); i++) {
      if (pyEquals(list.get(i), x)) {
        return i;
      }
    }
    return -1;
  }

  private static boolean pyEquals(Object a, Object b) {
    if (a instanceof Number && b instanceof Number) {
      return ((Number) a).doubleValue() == ((Number) b).doubleValue();
    }
    return Objects.equals(a == null ? null : a.toString(), b == null ? null : b.toString())
        && (a == null) == (b == null);
  }

  /** startswith/endswith with a str or a tuple of str, and optional start/end. */
  private static boolean affix(String s, String name, Object[] a) {
    Object what = arg(a, 0, name);
    int n = s.codePointCount(0, s.length());
    int start = clampIndex(optInt(a, 1, 0, name), n);
    int end = a.length > 2 && a[2] != null ? clampIndex(optInt(a, 2, n, name), n) : n;
    if (start > end) {
      return false;
    }
    String window = s.substring(s.offsetByCodePoints(0, start), s.offsetByCodePoints(0, end));
    List<Object> candidates =
        what instanceof Collection ? new ArrayList<>((Collection<?>) what) : List.of(what);
    for (Object c : candidates) {
      String affix = str(c, name);
      if (name.equals("startswith") ? window.startsWith(affix) : window.endsWith(affix)) {
        return true;
      }
    }
    return false;
  }

  private static int clampIndex(int i, int n) {
    return i < 0 ? Math.max(0, i + n) : Math.min(i, n);
  }

  private static String join(String sep, Object iterable) {
    if (!(iterable instanceof Collection)) {
      throw RenderState.fail("Cannot render chat template: str.join() needs a list, got "
          + typeName(iterable));
    }
    StringBuilder b = new StringBuilder();
    int i = 0;
    for (Object item : (Collection<?>) iterable) {
      if (!(item instanceof String)) {
        throw RenderState.fail("Cannot render chat template: str.join(): sequence item " + i
            + ": expected str instance, " + typeName(item) + " found");
      }
      if (i++ > 0) {
        b.append(sep);
      }
      b.append(item);
    }
    return b.toString();
  }

  private static Object arg(Object[] a, int i, String name) {
    if (a.length <= i) {
      throw RenderState.fail("Cannot render chat template: ." + name + "() is missing argument "
          + (i + 1));
    }
    return a[i];
  }

  private static String optString(Object[] a, int i, String name) {
    return a.length > i && a[i] != null ? str(a[i], name) : null;
  }

  private static int optInt(Object[] a, int i, int dflt, String name) {
    if (a.length <= i || a[i] == null) {
      return dflt;
    }
    if (!(a[i] instanceof Number)) {
      throw RenderState.fail("Cannot render chat template: ." + name + "() argument " + (i + 1)
          + " must be an integer, got " + typeName(a[i]));
    }
    return ((Number) a[i]).intValue();
  }

  private static String str(Object v, String name) {
    if (v instanceof String || v instanceof com.hubspot.jinjava.objects.SafeString) {
      return v.toString();
    }
    throw RenderState.fail("Cannot render chat template: ." + name + "() needs a str argument, got "
        + typeName(v));
  }

  private static RuntimeException noMethod(String type, String name) {
    return RenderState.fail("Cannot render chat template: '" + type + "' object has no supported"
        + " method '" + name + "' (templates are sandboxed; supported: Python str, dict.get/items/"
        + "keys/values, list.index/count)");
  }

  static String typeName(Object v) {
    if (v == null) {
      return "None";
    }
    if (v instanceof String) {
      return "str";
    }
    if (v instanceof Map) {
      return "dict";
    }
    if (v instanceof List) {
      return "list";
    }
    if (v instanceof Boolean) {
      return "bool";
    }
    if (v instanceof Double || v instanceof Float) {
      return "float";
    }
    if (v instanceof Number) {
      return "int";
    }
    return "object";
  }
}
