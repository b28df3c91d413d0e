package dev.llmbatch.engine.template;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/** Python's {@code strftime} in the C locale, for {@code strftime_now} (Llama 3.x's date line). */
final class Strftime {
  private Strftime() {}

  static String format(ZonedDateTime t, String format) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < format.length(); i++) {
      char c = format.charAt(i);
      if (c != '%' || i + 1 == format.length()) {
        b.append(c);
        continue;
      }
      char d = format.charAt(++i);
      boolean noPad = false; // glibc's "%-d": no padding
      if (d == '-' && i + 1 < format.length()) {
        noPad = true;
        d = format.charAt(++i);
      }
      switch (d) {
        case 'd': pad(b, t.getDayOfMonth(), 2, noPad); break;
        case 'm': pad(b, t.getMonthValue(), 2, noPad); break;
        case 'Y': b.append(t.getYear()); break;
        case 'y': pad(b, t.getYear() % 100, 2, noPad); break;
        case 'H': pad(b, t.getHour(), 2, noPad); break;
        case 'I': pad(b, (t.getHour() + 11) % 12 + 1, 2, noPad); break;
        case 'M': pad(b, t.getMinute(), 2, noPad); break;
        case 'S': pad(b, t.getSecond(), 2, noPad); break;
        case 'j': pad(b, t.getDayOfYear(), 3, noPad); break;
        case 'p': b.append(t.getHour() < 12 ? "AM" : "PM"); break;
        case 'b': b.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH)); break;
        case 'B': b.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH)); break;
        case 'a': b.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH)); break;
        case 'A': b.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH)); break;
        case 'Z': b.append(t.getZone().getDisplayName(TextStyle.SHORT, Locale.ENGLISH)); break;
        case '%': b.append('%'); break;
        default: b.append('%').append(noPad ? "-" : "").append(d); // Python keeps unknown codes
      }
    }
    return b.toString();
  }

  private static void pad(StringBuilder b, int value, int width, boolean noPad) {
    String s = Integer.toString(value);
    if (!noPad) {
      for (int i = s.length(); i < width; i++) {
        b.append('0');
      }
    }
    b.append(s);
  }
}
