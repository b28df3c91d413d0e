package dev.llmbatch.engine.model.layers;

import dev.llmbatch.engine.model.StepInput;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The row order of one step: the inputs sorted by slot, so that rows holding consecutive slots
 * read the KV cache as a view (see {@link StepBatch}). A decode step (one new token per row) whose
 * slots have a few gaps gets an inert placeholder row per missing slot, which costs one row of
 * compute but spares every layer a gather of the whole batch's keys and values; more gaps than
 * {@code max(1, B/4)}, or any row with several new tokens, and the step gathers instead.
 *
 * @param rows the step's rows, by slot
 * @param inert which rows are placeholders (null when none is)
 * @param reported for input i (caller's order), its row in {@link #rows}
 */
public record StepPlan(List<StepInput> rows, boolean[] inert, int[] reported) {
  /** Plans the rows of {@code inputs} (distinct slots, already validated). */
  public static StepPlan of(List<StepInput> inputs) {
    int n = inputs.size();
    Integer[] order = new Integer[n];
    boolean decode = true;
    for (int i = 0; i < n; i++) {
      order[i] = i;
      decode &= inputs.get(i).tokens().length == 1;
    }
    Arrays.sort(order, Comparator.comparingInt(i -> inputs.get(i).slot()));
    int first = inputs.get(order[0]).slot();
    int span = inputs.get(order[n - 1]).slot() - first + 1;
    int gaps = span - n;
    boolean fill = decode && gaps > 0 && gaps <= Math.max(1, n / 4);
    List<StepInput> rows = new ArrayList<>(fill ? span : n);
    boolean[] inert = fill ? new boolean[span] : null;
    int[] reported = new int[n];
    for (int k = 0; k < n; k++) {
      StepInput in = inputs.get(order[k]);
      if (fill) {
        // placeholders for the free slots before this one: token 0 at position 0, writes trashed
        for (int slot = first + rows.size(); slot < in.slot(); slot++) {
          inert[rows.size()] = true;
          rows.add(new StepInput(slot, 0, new int[] {0}));
        }
      }
      reported[order[k]] = rows.size();
      rows.add(in);
    }
    return new StepPlan(rows, inert, reported);
  }
}
