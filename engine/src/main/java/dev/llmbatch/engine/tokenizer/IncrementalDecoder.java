package dev.llmbatch.engine.tokenizer;

import java.util.Arrays;

/**
 * Streams the text of a growing token sequence, one id at a time, never emitting half a
 * character.
 *
 * <p>Byte-level BPE splits multi-byte UTF-8 characters across tokens, and decoders such as
 * SentencePiece's Metaspace change a token's text depending on what precedes it. So each step
 * decodes a short window of ids twice, as vLLM and TGI do: the <em>prefix</em> (ids from
 * {@code prefixOffset} up to {@code readOffset}, already emitted) and the whole window up to the
 * new id; the difference is the new text. While that difference ends in U+FFFD (an incomplete
 * byte sequence) nothing is emitted and the ids wait for the rest of their character. Concatenating
 * every {@link #append} and the final {@link #flush} equals {@code decode(allIds)}. Not
 * thread-safe: one decoder per sequence.
 */
public final class IncrementalDecoder {
  private static final char REPLACEMENT = '\uFFFD';

  private final TextTokenizer tokenizer;
  private final boolean skipSpecial;
  private int[] ids = new int[32];
  private int size;
  private int prefixOffset; // first id of the decoding window (kept for context)
  private int readOffset; // ids before this have been emitted
  private String prefixText = ""; // decode(ids[prefixOffset, readOffset))

  IncrementalDecoder(TextTokenizer tokenizer, boolean skipSpecial) {
    this.tokenizer = tokenizer;
    this.skipSpecial = skipSpecial;
  }

  /** Adds one id and returns the text it completes; empty while a character is still partial. */
  public String append(int id) {
    if (size == ids.length) {
      ids = Arrays.copyOf(ids, size * 2);
    }
    ids[size++] = id;
    String windowText = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, size), skipSpecial);
    if (windowText.length() <= prefixText.length()
        || windowText.charAt(windowText.length() - 1) == REPLACEMENT) {
      return ""; // a skipped special token, or a character whose bytes are not all here yet
    }
    String newText = windowText.substring(prefixText.length());
    prefixOffset = readOffset;
    readOffset = size;
    prefixText = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, readOffset), skipSpecial);
    return newText;
  }

  /**
   * Returns the text not yet emitted (an incomplete trailing character decodes to U+FFFD, as in
   * a full decode) and marks everything emitted.
   */
  public String flush() {
    if (readOffset == size) {
      return "";
    }
    String windowText = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, size), skipSpecial);
    String rest =
        windowText.length() > prefixText.length() ? windowText.substring(prefixText.length()) : "";
    prefixOffset = readOffset;
    readOffset = size;
    prefixText = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, readOffset), skipSpecial);
    return rest;
  }

  /** The number of ids appended so far. */
  public int length() {
    return size;
  }
}
