package dev.llmbatch.flavor.testing;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Assertions on error messages: one line, naming what went wrong where, and the fix. */
public final class Messages {
  private Messages() {}

  /** Asserts {@code message} is one line starting "Cannot " and contains every part. */
  public static void assertOneLine(String message, String... parts) {
    assertFalse(message.contains("\n"), () -> "message spans lines: " + message);
    assertTrue(message.startsWith("Cannot "), () -> "message should start 'Cannot ': " + message);
    for (String p : parts) {
      assertTrue(message.contains(p), () -> "message should contain '" + p + "': " + message);
    }
  }
}
