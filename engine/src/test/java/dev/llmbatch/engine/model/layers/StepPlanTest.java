package dev.llmbatch.engine.model.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.llmbatch.engine.model.StepInput;
import java.util.List;
import org.junit.jupiter.api.Test;

class StepPlanTest {
  private static int[] slots(StepPlan p) {
    return p.rows().stream().mapToInt(StepInput::slot).toArray();
  }

  @Test
  void rowsAreSortedBySlotAndReportedInInputOrder() {
    StepPlan p = StepPlan.of(List.of(new StepInput(5, 3, new int[] {1}),
        new StepInput(4, 9, new int[] {2}), new StepInput(6, 0, new int[] {3})));
    assertArrayEquals(new int[] {4, 5, 6}, slots(p));
    assertArrayEquals(new int[] {1, 0, 2}, p.reported());
    assertNull(p.inert(), "consecutive slots need no placeholder");
  }

  @Test
  void aDecodeStepWithAFewFreeSlotsGetsInertPlaceholders() {
    // 8 decode rows over slots 0..9 without 3 and 7: 2 gaps ≤ 8/4
    List<StepInput> in = new java.util.ArrayList<>();
    for (int s : new int[] {9, 0, 1, 2, 4, 5, 6, 8}) {
      in.add(new StepInput(s, 10 + s, new int[] {s}));
    }
    StepPlan p = StepPlan.of(in);
    assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, slots(p));
    boolean[] inert = p.inert();
    for (int i = 0; i < 10; i++) {
      assertEquals(i == 3 || i == 7, inert[i], "row " + i);
    }
    assertArrayEquals(new int[] {9, 0, 1, 2, 4, 5, 6, 8}, p.reported());
    assertEquals(0, p.rows().get(3).startPos(), "a placeholder sits at position 0");
  }

  @Test
  void prefillChunksAndWideGapsAreGatheredInstead() {
    StepPlan chunk = StepPlan.of(List.of(new StepInput(0, 0, new int[] {1}),
        new StepInput(2, 0, new int[] {1, 2})));
    assertNull(chunk.inert(), "a row with several new tokens: no placeholders");
    assertArrayEquals(new int[] {0, 2}, slots(chunk));
    StepPlan wide = StepPlan.of(List.of(new StepInput(0, 0, new int[] {1}),
        new StepInput(7, 0, new int[] {1})));
    assertNull(wide.inert(), "6 gaps for 2 rows: gather");
  }
}
