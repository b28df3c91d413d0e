package dev.llmbatch.engine.template;

import java.util.ArrayList;
import java.util.List;

/**
 * Python {@code str} methods with CPython's semantics (code points, Unicode whitespace as in
 * {@code str.isspace}, literal separators), for templates that call {@code .strip()},
 * {@code .split('</think>')}, {@code .title()} and the like.
 */
final class PyStrings {
  private PyStrings() {}

  /** {@code str.isspace} for one code point: Unicode White_Space (Zs, Zl, Zp, tabs, FS/GS/RS/US). */
  static boolean isSpace(int cp) {
    return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85;
  }

  /** Non-empty and all whitespace, as {@code str.isspace()}. */
  static boolean isSpace(String s) {
    return !s.isEmpty() && s.codePoints().allMatch(PyStrings::isSpace);
  }

  private static boolean strips(int cp, String chars) {
    return chars == null ? isSpace(cp) : chars.indexOf(Character.toString(cp)) >= 0;
  }

  static String lstrip(String s, String chars) {
    int i = 0;
    while (i < s.length()) {
      int cp = s.codePointAt(i);
      if (!strips(cp, chars)) {
        break;
      }
      i += Character.charCount(cp);
    }
    return s.substring(i);
  }

  static String rstrip(String s, String chars) {
    int end = s.length();
    while (end > 0) {
      int cp = s.codePointBefore(end);
      if (!strips(cp, chars)) {
        break;
      }
      end -= Character.charCount(cp);
    }
    return s.substring(0, end);
  }

  static String strip(String s, String chars) {
    return lstrip(rstrip(s, chars), chars);
  }

  /** {@code str.split(sep, maxsplit)}; {@code sep == null} splits on runs of whitespace. */
  static List<String> split(String s, String sep, int maxsplit) {
    List<String> parts = new ArrayList<>();
    if (sep == null) {
      int i = 0;
      int n = s.length();
      while (true) {
        while (i < n && isSpace(s.codePointAt(i))) {
          i += Character.charCount(s.codePointAt(i));
        }
        if (i >= n) {
          return parts;
        }
        if (maxsplit >= 0 && parts.size() == maxsplit) {
          parts.add(rstrip(s.substring(i), null));
          return parts;
        }
        int j = i;
        while (j < n && !isSpace(s.codePointAt(j))) {
          j += Character.charCount(s.codePointAt(j));
        }
        parts.add(s.substring(i, j));
        i = j;
      }
    }
    if (sep.isEmpty()) {
      throw new ChatTemplateException("Cannot render chat template: str.split(): empty separator");
    }
    int from = 0;
    while (maxsplit < 0 || parts.size() < maxsplit) {
      int at = s.indexOf(sep, from);
      if (at < 0) {
        break;
      }
      parts.add(s.substring(from, at));
      from = at + sep.length();
    }
    parts.add(s.substring(from));
    return parts;
  }

  /** {@code str.rsplit(sep, maxsplit)} for a literal separator. */
  static List<String> rsplit(String s, String sep, int maxsplit) {
    if (sep == null || maxsplit < 0) {
      return split(s, sep, maxsplit);
    }
    if (sep.isEmpty()) {
      throw new ChatTemplateException("Cannot render chat template: str.rsplit(): empty separator");
    }
    List<String> parts = new ArrayList<>();
    int end = s.length();
    while (parts.size() < maxsplit) {
      int at = s.lastIndexOf(sep, end - sep.length());
      if (at < 0) {
        break;
      }
      parts.add(0, s.substring(at + sep.length(), end));
      end = at;
    }
    parts.add(0, s.substring(0, end));
    return parts;
  }

  /** {@code str.replace(old, new, count)}; an empty {@code old} inserts between code points. */
  static String replace(String s, String old, String rep, int count) {
    if (count < 0 && !old.isEmpty()) {
      return s.replace(old, rep);
    }
    StringBuilder b = new StringBuilder();
    int done = 0;
    int from = 0;
    if (old.isEmpty()) {
      int i = 0;
      while (i <= s.length()) {
        if (count >= 0 && done >= count) {
          b.append(s, i, s.length());
          return b.toString();
        }
        b.append(rep);
        done++;
        if (i == s.length()) {
          break;
        }
        int cp = s.codePointAt(i);
        b.appendCodePoint(cp);
        i += Character.charCount(cp);
      }
      return b.toString();
    }
    while (done < count) {
      int at = s.indexOf(old, from);
      if (at < 0) {
        break;
      }
      b.append(s, from, at).append(rep);
      from = at + old.length();
      done++;
    }
    return b.append(s.substring(from)).toString();
  }

  /** {@code str.title()}: a cased character after an uncased one is title-cased, others lowered. */
  static String title(String s) {
    StringBuilder b = new StringBuilder(s.length());
    boolean previousCased = false;
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      i += Character.charCount(cp);
      boolean cased = Character.isUpperCase(cp) || Character.isLowerCase(cp)
          || Character.isTitleCase(cp);
      if (cased) {
        b.appendCodePoint(previousCased ? Character.toLowerCase(cp) : Character.toTitleCase(cp));
      } else {
        b.appendCodePoint(cp);
      }
      previousCased = cased;
    }
    return b.toString();
  }

  /** {@code str.capitalize()}: first code point title-cased, the rest lowered (Python 3.8+). */
  static String capitalize(String s) {
    if (s.isEmpty()) {
      return s;
    }
    int first = s.codePointAt(0);
    return new StringBuilder()
        .appendCodePoint(Character.toTitleCase(first))
        .append(s.substring(Character.charCount(first)).toLowerCase(java.util.Locale.ROOT))
        .toString();
  }

  /** {@code str.count(sub)}: non-overlapping occurrences; an empty sub counts len + 1. */
  static int count(String s, String sub) {
    if (sub.isEmpty()) {
      return s.codePointCount(0, s.length()) + 1;
    }
    int n = 0;
    for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
      n++;
    }
    return n;
  }

  /** {@code str.find(sub)} as a code point index, -1 when absent. */
  static int find(String s, String sub, boolean last) {
    int at = last ? s.lastIndexOf(sub) : s.indexOf(sub);
    return at < 0 ? -1 : s.codePointCount(0, at);
  }

  /** {@code str.splitlines()} (without keepends) on \n, \r\n, \r and the other Python breaks. */
  static List<String> splitlines(String s) {
    List<String> lines = new ArrayList<>();
    int start = 0;
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      boolean brk = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d
          || c == 0x1e || c == 0x85 || c == 0x2028 || c == 0x2029;
      if (brk) {
        lines.add(s.substring(start, i));
        i += (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') ? 2 : 1;
        start = i;
      } else {
        i++;
      }
    }
    if (start < s.length()) {
      lines.add(s.substring(start));
    }
    return lines;
  }
}
