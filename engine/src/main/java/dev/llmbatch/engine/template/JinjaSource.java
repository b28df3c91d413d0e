package dev.llmbatch.engine.template;

/**
 * Applies Jinja2's lexer-level whitespace rules to template source, so Jinjava only sees plain
 * tags.
 *
 * <p>transformers compiles chat templates with {@code trim_blocks=True, lstrip_blocks=True} and
 * the default {@code keep_trailing_newline=False}. Jinjava's own versions of these differ (it
 * strips spaces before a block tag in the middle of a line), so this class reproduces Jinja2's
 * lexer here: newlines normalised to {@code \n}; one trailing newline dropped; {@code -}
 * markers strip all whitespace on their side; {@code +} markers disable lstrip/trim; a block or
 * comment tag preceded on its line by whitespace only loses that whitespace (lstrip_blocks); the
 * first newline after a block or comment tag is removed (trim_blocks); comments are dropped.
 * Tag bodies are copied unchanged, with string literals and brackets respected when looking for
 * the closing delimiter, as Jinja2's lexer does.
 */
final class JinjaSource {
  private enum Kind {
    VARIABLE,
    BLOCK,
    COMMENT
  }

  private final String src;
  private final StringBuilder out;
  private int pos;
  private boolean lineStarting = true;

  private JinjaSource(String src) {
    this.src = src;
    this.out = new StringBuilder(src.length());
  }

  /** The source Jinjava should parse (with its own trim/lstrip options off). */
  static String normalize(String source) {
    String s = source.replace("\r\n", "\n").replace('\r', '\n');
    if (s.endsWith("\n")) {
      s = s.substring(0, s.length() - 1);
    }
    JinjaSource lexer = new JinjaSource(s);
    lexer.run();
    return lexer.out.toString();
  }

  private void run() {
    while (pos < src.length()) {
      int start = nextTagStart(pos);
      if (start < 0) {
        out.append(src, pos, src.length());
        return;
      }
      Kind kind = kindAt(start);
      char mod = start + 2 < src.length() ? src.charAt(start + 2) : 0;
      boolean hasMod = mod == '-' || mod == '+';
      out.append(leadingText(src.substring(pos, start), kind, hasMod ? mod : 0));
      int bodyStart = start + 2 + (hasMod ? 1 : 0);
      if (kind == Kind.BLOCK && isRaw(bodyStart)) {
        copyRaw(bodyStart);
        continue;
      }
      int[] end = kind == Kind.COMMENT ? commentEnd(bodyStart) : tagEnd(bodyStart, kind);
      int bodyEnd = end[0];
      char endMod = (char) end[1];
      if (kind != Kind.COMMENT) {
        out.append(kind == Kind.BLOCK ? "{%" : "{{")
            .append(separateClosingBraces(src.substring(bodyStart, bodyEnd)))
            .append(kind == Kind.BLOCK ? "%}" : "}}");
      }
      pos = bodyEnd + (endMod != 0 ? 1 : 0) + 2;
      afterTag(kind, endMod);
    }
  }

  /**
   * Jinjava's tag scanner ends a tag at the first "}}" even inside a dict literal
   * ({@code {{ {'a': {'b': 1}} }}}), where Jinja2 balances brackets; a space between the braces
   * (outside string literals) means the same expression.
   */
  static String separateClosingBraces(String body) {
    StringBuilder b = new StringBuilder(body.length());
    char quote = 0;
    for (int i = 0; i < body.length(); i++) {
      char c = body.charAt(i);
      b.append(c);
      if (quote != 0) {
        if (c == '\\' && i + 1 < body.length()) {
          b.append(body.charAt(++i));
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '}' && i + 1 < body.length() && body.charAt(i + 1) == '}') {
        b.append(' ');
      }
    }
    return b.toString();
  }

  private int nextTagStart(int from) {
    for (int i = from; i + 1 < src.length(); i++) {
      char c = src.charAt(i);
      char d = src.charAt(i + 1);
      if (c == '{' && (d == '{' || d == '%' || d == '#')) {
        return i;
      }
    }
    return -1;
  }

  private Kind kindAt(int start) {
    char d = src.charAt(start + 1);
    return d == '{' ? Kind.VARIABLE : d == '%' ? Kind.BLOCK : Kind.COMMENT;
  }

  /** The data before a tag after the tag's left whitespace rules ('-' strip or lstrip_blocks). */
  private String leadingText(String text, Kind kind, char mod) {
    if (mod == '-') {
      return PyStrings.rstrip(text, null);
    }
    if (mod == '+' || kind == Kind.VARIABLE) {
      return text;
    }
    int lineStart = text.lastIndexOf('\n') + 1;
    if ((lineStart > 0 || lineStarting) && lineStart < text.length()) {
      String tail = text.substring(lineStart);
      if (PyStrings.isSpace(tail)) {
        return text.substring(0, lineStart);
      }
    }
    return text;
  }

  /** The right whitespace rules of a tag ending at {@code pos}: '-' strip, or trim_blocks. */
  private void afterTag(Kind kind, char endMod) {
    if (endMod == '-') {
      int from = pos;
      while (pos < src.length() && PyStrings.isSpace(src.charAt(pos))) {
        pos++;
      }
      lineStarting = pos > from ? src.charAt(pos - 1) == '\n' : false;
    } else if (endMod != '+' && kind != Kind.VARIABLE && pos < src.length()
        && src.charAt(pos) == '\n') {
      pos++;
      lineStarting = true;
    } else {
      lineStarting = false;
    }
  }

  /** Finds "#}" and reports [index of the closing delimiter or its marker, marker char]. */
  private int[] commentEnd(int from) {
    int close = src.indexOf("#}", from);
    if (close < 0) {
      throw new ChatTemplateException(
          "Cannot compile chat template: comment opened at offset " + (from - 2)
              + " is never closed with #}");
    }
    char before = close > from ? src.charAt(close - 1) : 0;
    if (before == '-' || before == '+') {
      return new int[] {close - 1, before};
    }
    return new int[] {close, 0};
  }

  /**
   * Scans a tag body for its closing delimiter outside string literals and brackets; returns
   * [index where the closing part starts (its '-'/'+' marker or delimiter), marker char].
   */
  private int[] tagEnd(int from, Kind kind) {
    char closer = kind == Kind.BLOCK ? '%' : '}';
    int depth = 0;
    int i = from;
    while (i < src.length()) {
      char c = src.charAt(i);
      if (depth == 0) {
        if (c == closer && i + 1 < src.length() && src.charAt(i + 1) == '}') {
          return new int[] {i, 0};
        }
        boolean marker = c == '-' || (c == '+' && kind == Kind.BLOCK);
        if (marker && i + 2 < src.length() && src.charAt(i + 1) == closer
            && src.charAt(i + 2) == '}') {
          return new int[] {i, c};
        }
      }
      if (c == '\'' || c == '"') {
        i = skipString(i);
        continue;
      }
      if (c == '(' || c == '[' || c == '{') {
        depth++;
      } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
        depth--;
      }
      i++;
    }
    throw new ChatTemplateException(
        "Cannot compile chat template: tag opened at offset " + (from - 2) + " is never closed with "
            + (kind == Kind.BLOCK ? "%}" : "}}"));
  }

  private int skipString(int open) {
    char quote = src.charAt(open);
    for (int i = open + 1; i < src.length(); i++) {
      char c = src.charAt(i);
      if (c == '\\') {
        i++;
      } else if (c == quote) {
        return i + 1;
      }
    }
    throw new ChatTemplateException(
        "Cannot compile chat template: string literal opened at offset " + open + " is never closed");
  }

  private boolean isRaw(int bodyStart) {
    int i = bodyStart;
    while (i < src.length() && PyStrings.isSpace(src.charAt(i))) {
      i++;
    }
    if (!src.startsWith("raw", i)) {
      return false;
    }
    i += 3;
    while (i < src.length() && PyStrings.isSpace(src.charAt(i))) {
      i++;
    }
    return src.startsWith("%}", i) || src.startsWith("-%}", i);
  }

  /**
   * {% raw %}...{% endraw %}: the content is data. Jinja2 applies no trim_blocks after the raw
   * tag itself, but the usual rules to the endraw tag.
   */
  private void copyRaw(int bodyStart) {
    int close = src.indexOf("%}", bodyStart);
    boolean strip = src.charAt(close - 1) == '-';
    pos = close + 2;
    lineStarting = false;
    if (strip) {
      while (pos < src.length() && PyStrings.isSpace(src.charAt(pos))) {
        pos++;
      }
      lineStarting = pos > close + 2 && src.charAt(pos - 1) == '\n';
    }
    int search = pos;
    while (true) {
      int tag = src.indexOf("{%", search);
      if (tag < 0) {
        throw new ChatTemplateException(
            "Cannot compile chat template: {% raw %} at offset " + (bodyStart - 2)
                + " has no {% endraw %}");
      }
      int i = tag + 2;
      char mod = i < src.length() ? src.charAt(i) : 0;
      if (mod == '-' || mod == '+') {
        i++;
      }
      int name = i;
      while (name < src.length() && PyStrings.isSpace(src.charAt(name))) {
        name++;
      }
      if (src.startsWith("endraw", name)) {
        String content = src.substring(pos, tag);
        out.append("{% raw %}")
            .append(leadingText(content, Kind.BLOCK, (mod == '-' || mod == '+') ? mod : 0))
            .append("{% endraw %}");
        int[] end = tagEnd(i, Kind.BLOCK);
        pos = end[0] + (end[1] != 0 ? 1 : 0) + 2;
        afterTag(Kind.BLOCK, (char) end[1]);
        return;
      }
      search = tag + 2;
    }
  }
}
