package dev.llmbatch.engine.generate;

import java.util.List;

/**
 * The text of one choice as its tokens arrive: incremental detokenization (never half a UTF-8
 * character) and stop-string matching across token boundaries. One instance per choice, used by
 * the scheduler thread only.
 */
public interface ChoiceText {
  /** Feeds a generated token; true when a stop string has now completed (the choice ends). */
  boolean append(int tokenId);

  /**
   * Ends the choice and returns its whole text: everything decoded, with a stop string and all after
   * it removed.
   */
  String finish();

  /** Opens a {@link ChoiceText} per choice. */
  @FunctionalInterface
  interface Factory {
    /** A fresh text for one choice that stops at any of {@code stops}. */
    ChoiceText open(List<String> stops);
  }
}
