package dev.llmbatch.engine.model;

import java.util.Locale;

/**
 * How an encoder turns its last hidden states {@code (B, T, H)} into one vector per input
 * {@code (B, H)}. Names follow sentence-transformers' {@code 1_Pooling/config.json} modes.
 */
public enum Pooling {
  /** The hidden state of the first token ({@code [CLS]} / {@code <s>}). */
  CLS,
  /** The mean over real (unpadded) tokens. */
  MEAN,
  /** The element-wise max over real tokens. */
  MAX,
  /** The hidden state of the last real token (decoder-based embedding models). */
  LASTTOKEN;

  /** Parses {@code cls}, {@code mean}, {@code max}, {@code lasttoken} (also {@code last_token}). */
  public static Pooling parse(String s) {
    String n = s == null ? "" : s.trim().toLowerCase(Locale.ROOT).replace("_", "").replace("-", "");
    return switch (n) {
      case "cls" -> CLS;
      case "mean" -> MEAN;
      case "max" -> MAX;
      case "lasttoken", "last" -> LASTTOKEN;
      default -> throw new IllegalArgumentException("Invalid pooling: '" + s
          + "' (use cls, mean, max or lasttoken)");
    };
  }

  /** The lower-case name used in files and options. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }
}
