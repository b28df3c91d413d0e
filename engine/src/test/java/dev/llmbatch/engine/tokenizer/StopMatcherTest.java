package dev.llmbatch.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.engine.EngineException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StopMatcherTest {

  /** Feeds pieces; returns every emit plus the flush, and whether it stopped. */
  private static List<String> feed(StopMatcher m, String... pieces) {
    List<String> out = new ArrayList<>();
    for (String p : pieces) {
      out.add(m.append(p).emit());
    }
    out.add(m.flush());
    return out;
  }

  @Test
  void stopInsideOnePieceCutsItAndEverythingAfter() {
    StopMatcher m = new StopMatcher(List.of("\n\n"));
    StopMatcher.Result r = m.append("Hello.\n\nMore text");
    assertEquals(new StopMatcher.Result("Hello.", true), r);
    assertEquals(new StopMatcher.Result("", true), m.append("even more"));
    assertEquals("", m.flush());
    assertTrue(m.stopped());
  }

  @Test
  void stopSpanningPiecesIsHeldThenCut() {
    StopMatcher m = new StopMatcher(List.of("STOP"));
    assertEquals(new StopMatcher.Result("abc ", false), m.append("abc ST"));
    assertEquals(new StopMatcher.Result("", false), m.append("O"));
    assertEquals(new StopMatcher.Result("", true), m.append("P and after"));
  }

  @Test
  void falseStartIsReleasedAsSoonAsItCannotMatch() {
    StopMatcher m = new StopMatcher(List.of("STOP"));
    assertEquals(new StopMatcher.Result("x", false), m.append("xST"));
    // "STa" cannot begin "STOP", and no suffix of it can either: all of it is released.
    assertEquals(new StopMatcher.Result("STa", false), m.append("a"));
  }

  @Test
  void holdsOnlyTheTailThatCanStillBeginAStop() {
    // "aab": after "xaa" both "aa" and "a" are prefixes; the tail from the first possible start
    // ("aa") must be held, and "x" released.
    StopMatcher m = new StopMatcher(List.of("aab"));
    assertEquals(new StopMatcher.Result("x", false), m.append("xaa"));
    // "aaa": the first 'a' can no longer start "aab" but "aa" still can.
    assertEquals(new StopMatcher.Result("a", false), m.append("a"));
    // "aa" + "b!": "aab" starts at the held tail, so nothing more is emitted.
    assertEquals(new StopMatcher.Result("", true), m.append("b!"));
  }

  @Test
  void earliestOfSeveralStopsWins() {
    StopMatcher m = new StopMatcher(List.of("world", "lo w"));
    assertEquals(new StopMatcher.Result("hel", true), m.append("hello world"));
  }

  @Test
  void multiByteCharactersAcrossPieces() {
    // The pieces come from a detokenizer: whole code points, but a stop may span pieces.
    StopMatcher m = new StopMatcher(List.of("日本語", "🤗!"));
    List<String> out = feed(m, "東京は", "日", "本", "の首都 🤗", "?", " 🤗", "!", "tail");
    assertEquals(List.of("東京は", "", "", "日本の首都 ", "🤗?", " ", "", "", ""), out);
    assertTrue(m.stopped());
  }

  @Test
  void flushReleasesAHeldTailWhenGenerationEnds() {
    StopMatcher m = new StopMatcher(List.of("</answer>"));
    assertEquals(List.of("42 ", "", "</ans"), feed(m, "42 </", "ans"));
    assertFalse(m.stopped());
  }

  @Test
  void noStopsPassesTextThrough() {
    StopMatcher m = new StopMatcher(List.of());
    assertEquals(List.of("a", "b", ""), feed(m, "a", "b"));
  }

  @Test
  void emptyStopIsRejected() {
    EngineException e =
        assertThrows(EngineException.class, () -> new StopMatcher(List.of("ok", "")));
    assertEquals(
        "Cannot match stop strings: stop[1] is empty; every stop string needs at least one"
            + " character",
        e.getMessage());
  }
}
