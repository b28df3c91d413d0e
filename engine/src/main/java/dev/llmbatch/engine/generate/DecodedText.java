package dev.llmbatch.engine.generate;

import dev.llmbatch.engine.tokenizer.IncrementalDecoder;
import dev.llmbatch.engine.tokenizer.StopMatcher;
import dev.llmbatch.engine.tokenizer.TextTokenizer;

/**
 * {@link ChoiceText} over the model's tokenizer: tokens are detokenized incrementally (special
 * tokens skipped, as HF pipelines and vLLM return them) and the text runs through a
 * {@link StopMatcher}, so a stop string split over several tokens, or inside a multi-byte
 * character's bytes, is still found and cut with everything after it.
 */
public final class DecodedText implements ChoiceText {
  private final IncrementalDecoder decoder;
  private final StopMatcher stops;
  private final StringBuilder out = new StringBuilder();

  private DecodedText(IncrementalDecoder decoder, StopMatcher stops) {
    this.decoder = decoder;
    this.stops = stops;
  }

  /** A factory of texts decoded with {@code tokenizer}. */
  public static ChoiceText.Factory factory(TextTokenizer tokenizer) {
    return stopList -> new DecodedText(tokenizer.incrementalDecoder(true), new StopMatcher(stopList));
  }

  @Override
  public boolean append(int tokenId) {
    String piece = decoder.append(tokenId);
    if (piece.isEmpty()) {
      return false;
    }
    StopMatcher.Result r = stops.append(piece);
    out.append(r.emit());
    return r.stopped();
  }

  @Override
  public String finish() {
    if (!stops.stopped()) {
      StopMatcher.Result r = stops.append(decoder.flush());
      out.append(r.emit());
      if (!r.stopped()) {
        out.append(stops.flush());
      }
    }
    return out.toString();
  }
}
