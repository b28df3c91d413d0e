package dev.llmbatch.engine.generate;

import java.util.ArrayList;
import java.util.List;

/** A request and its choices while the scheduler holds it. */
final class RequestState {
  final GenerationRequest request;
  final List<Sequence> sequences = new ArrayList<>();
  int unfinished;
  boolean failed;

  RequestState(GenerationRequest request) {
    this.request = request;
  }

  GenerationResult result() {
    List<GenerationResult.Choice> choices = new ArrayList<>();
    int completion = 0;
    for (Sequence s : sequences) {
      choices.add(new GenerationResult.Choice(s.choice, s.finalText, s.generatedTokens(),
          s.finishReason));
      completion += s.generated;
    }
    return new GenerationResult(choices, request.promptTokens().length, completion);
  }
}
