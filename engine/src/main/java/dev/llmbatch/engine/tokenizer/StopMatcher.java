package dev.llmbatch.engine.tokenizer;

import dev.llmbatch.engine.EngineException;
import java.util.List;

/**
 * Finds OpenAI {@code stop} strings in streamed text.
 *
 * <p>Text arrives in pieces (one detokenized step at a time) and a stop string may span pieces,
 * so the matcher holds back the shortest tail of the text that could still be the beginning of a
 * stop string, and emits everything before it. When a stop string is found, the text before it
 * is emitted, and the stop string and everything after it are dropped (OpenAI semantics: the stop
 * sequence is not part of the output). {@link #flush()} releases a held tail once generation ends
 * without a stop. Not thread-safe: one matcher per choice.
 */
public final class StopMatcher {
  private final List<String> stops;
  private final int longestStop;
  private String held = "";
  private boolean stopped;

  /**
   * What {@link #append} releases.
   *
   * @param emit text safe to show now (never part of a stop string)
   * @param stopped whether a stop string was found; later appends emit nothing
   */
  public record Result(String emit, boolean stopped) {
    public Result {
      if (emit == null) {
        throw new IllegalArgumentException("emit must not be null");
      }
    }
  }

  /** A matcher for these stop strings; an empty list matches nothing and holds nothing back. */
  public StopMatcher(List<String> stops) {
    if (stops == null) {
      throw new EngineException("Cannot match stop strings: the list is null; pass List.of()");
    }
    for (int i = 0; i < stops.size(); i++) {
      String stop = stops.get(i);
      if (stop == null || stop.isEmpty()) {
        throw new EngineException(
            "Cannot match stop strings: stop[" + i + "] is " + (stop == null ? "null" : "empty")
                + "; every stop string needs at least one character");
      }
    }
    this.stops = List.copyOf(stops);
    this.longestStop = this.stops.stream().mapToInt(String::length).max().orElse(0);
  }

  /** Adds the next piece of text and returns what can be emitted now. */
  public Result append(String text) {
    if (stopped) {
      return new Result("", true);
    }
    String buffer = held + text;
    // The held tail holds no complete stop string, so any match starts at most
    // held.length() - 1 chars before the new piece: searching the whole buffer is cheap and simple.
    int cut = -1;
    for (String stop : stops) {
      int at = buffer.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) {
        cut = at;
      }
    }
    if (cut >= 0) {
      stopped = true;
      held = "";
      return new Result(buffer.substring(0, cut), true);
    }
    int keep = partialStopLength(buffer);
    held = buffer.substring(buffer.length() - keep);
    return new Result(buffer.substring(0, buffer.length() - keep), false);
  }

  /** Releases the held tail at the end of generation (nothing after a stop). */
  public String flush() {
    String rest = stopped ? "" : held;
    held = "";
    return rest;
  }

  /** Whether a stop string has been found. */
  public boolean stopped() {
    return stopped;
  }

  /** The length of the longest suffix of {@code text} that is a proper prefix of a stop string. */
  private int partialStopLength(String text) {
    int max = Math.min(text.length(), longestStop - 1);
    for (int len = max; len > 0; len--) {
      int from = text.length() - len;
      for (String stop : stops) {
        if (stop.length() > len && text.startsWith(stop.substring(0, len), from)) {
          return len;
        }
      }
    }
    return 0;
  }
}
