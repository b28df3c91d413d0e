package dev.llmbatch.engine.generate;

import java.util.List;

/**
 * What a request generated.
 *
 * @param choices one per {@code n}, in index order
 * @param promptTokens prompt tokens as fed, counted once however many choices
 * @param completionTokens tokens generated, summed over choices (an EOS token that ended a choice
 *     counts: it was generated)
 */
public record GenerationResult(List<Choice> choices, int promptTokens, int completionTokens) {
  public GenerationResult {
    choices = List.copyOf(choices);
  }

  /**
   * One choice.
   *
   * @param index choice index
   * @param text decoded text, stop string and what follows removed
   * @param tokenIds generated token ids
   * @param finishReason {@code stop} or {@code length}
   */
  public record Choice(int index, String text, int[] tokenIds, String finishReason) {}
}
