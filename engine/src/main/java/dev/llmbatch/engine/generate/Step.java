package dev.llmbatch.engine.generate;

import dev.llmbatch.engine.model.StepInput;
import java.util.ArrayList;
import java.util.List;

/**
 * One planned forward step: decode tokens first, then prefill chunks, each naming its slot, start
 * position and tokens. Produced by {@link Scheduler#plan()}, consumed by
 * {@link Scheduler#update(Step, float[][])}.
 */
public final class Step {
  /**
   * One sequence's share of the step.
   *
   * @param request the request the sequence belongs to
   * @param choice the choice index within the request
   * @param input slot, start position and tokens for the model
   * @param sample whether this chunk reaches the sequence's last known token, so its logits are
   *     sampled (false for a prefill chunk that is not the prompt's last)
   */
  public record Item(GenerationRequest request, int choice, StepInput input, boolean sample) {}

  final List<Sequence> sequences;
  private final List<Item> items;

  Step(List<Sequence> sequences, List<Item> items) {
    this.sequences = List.copyOf(sequences);
    this.items = List.copyOf(items);
  }

  /** The planned items, in model-input order. */
  public List<Item> items() {
    return items;
  }

  /** The model inputs, in order. */
  public List<StepInput> inputs() {
    List<StepInput> in = new ArrayList<>(items.size());
    for (Item i : items) {
      in.add(i.input());
    }
    return in;
  }

  /** Whether nothing is planned. */
  public boolean isEmpty() {
    return items.isEmpty();
  }

  /** Tokens fed in this step. */
  public int tokens() {
    int n = 0;
    for (Item i : items) {
      n += i.input().tokens().length;
    }
    return n;
  }
}
