package dev.llmbatch.engine.embed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TokenBudgetBatcherTest {

  @Test
  void everyRowOnceWithinBudgetLongestFirst() {
    Random r = new Random(1);
    int[] lengths = new int[500];
    for (int i = 0; i < lengths.length; i++) {
      lengths[i] = 1 + r.nextInt(300);
    }
    TokenBudgetBatcher batcher = new TokenBudgetBatcher(2048, 64);
    List<TokenBudgetBatcher.Batch> plan = batcher.plan(lengths);
    int[] seen = new int[lengths.length];
    int previousMax = Integer.MAX_VALUE;
    for (TokenBudgetBatcher.Batch b : plan) {
      assertTrue(b.rows().length <= 64);
      assertTrue(b.paddedTokens() <= 2048 || b.rows().length == 1, "budget kept");
      assertTrue(b.maxLen() <= previousMax, "batches go from long to short");
      previousMax = b.maxLen();
      long real = 0;
      for (int row : b.rows()) {
        seen[row]++;
        assertTrue(lengths[row] <= b.maxLen());
        real += lengths[row];
      }
      assertEquals(real, b.realTokens());
    }
    int[] ones = new int[lengths.length];
    Arrays.fill(ones, 1);
    assertArrayEquals(ones, seen);
    // sorting is what makes padding cheap: compare with batches in arrival order
    double sorted = TokenBudgetBatcher.paddingEfficiency(plan);
    long real = 0;
    long padded = 0;
    for (int s = 0; s < lengths.length; s += 8) {
      int max = 0;
      int n = Math.min(8, lengths.length - s);
      for (int k = s; k < s + n; k++) {
        max = Math.max(max, lengths[k]);
        real += lengths[k];
      }
      padded += (long) n * max;
    }
    assertTrue(sorted > 0.95, "sorted efficiency " + sorted);
    assertTrue(sorted > (double) real / padded, "sorted beats arrival order");
  }

  @Test
  void aRowLongerThanTheBudgetRunsAlone() {
    List<TokenBudgetBatcher.Batch> plan = new TokenBudgetBatcher(10, 8).plan(new int[] {3, 50, 3});
    assertEquals(2, plan.size());
    assertArrayEquals(new int[] {1}, plan.get(0).rows());
    assertArrayEquals(new int[] {0, 2}, plan.get(1).rows());
    assertEquals(1.0, TokenBudgetBatcher.paddingEfficiency(plan));
    assertThrows(IllegalArgumentException.class, () -> new TokenBudgetBatcher(0, 1));
  }
}
