package dev.llmbatch.engine.api;

/** The finish reasons the engine reports. */
public final class FinishReason {
  /** EOS token or a stop string ended the choice. */
  public static final String STOP = "stop";
  /** max_tokens or the context limit cut the choice. */
  public static final String LENGTH = "length";

  private FinishReason() {}

  static void check(String reason) {
    if (!STOP.equals(reason) && !LENGTH.equals(reason)) {
      throw new IllegalArgumentException("Invalid finish_reason: " + reason);
    }
  }
}
