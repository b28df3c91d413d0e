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

  @Test
  void aPackedBudgetCountsRealTokensAndShortRowsDoNotSplitABatch() {
    // lengths 100, 10 × 9, then 60 × 8: padded, the 10-token rows would leave the 100's batch
    // (shorter than 3/4 of it once 1024/8 tokens are in) and be padded to it otherwise
    int[] lengths = new int[1 + 9 + 8];
    lengths[0] = 100;
    Arrays.fill(lengths, 1, 10, 10);
    Arrays.fill(lengths, 10, 18, 60);
    TokenBudgetBatcher packed = new TokenBudgetBatcher(1024, 64).asPacked();
    List<TokenBudgetBatcher.Batch> plan = packed.plan(lengths);
    assertEquals(1, plan.size(), "100 + 8·60 + 9·10 = 670 real tokens fit one 1024 budget");
    TokenBudgetBatcher.Batch b = plan.get(0);
    assertEquals(670, b.realTokens());
    assertEquals(670, b.paddedTokens(), "a packed batch computes its real tokens");
    assertEquals(100, b.maxLen());
    assertEquals(0, b.rows()[0], "longest first");
    assertEquals(1.0, TokenBudgetBatcher.paddingEfficiency(plan));
    // the padded plan of the same rows: 18 × 100 > 1024, so it must split
    assertTrue(new TokenBudgetBatcher(1024, 64).plan(lengths).size() > 1);
    // the real-token budget and the row cap still bound a packed batch
    int[] many = new int[300];
    Arrays.fill(many, 7);
    for (TokenBudgetBatcher.Batch x : new TokenBudgetBatcher(1024, 64).asPacked().plan(many)) {
      assertTrue(x.rows().length <= 64 && x.realTokens() <= 1024, "bounds kept");
    }
    assertEquals(2, new TokenBudgetBatcher(100, 8).asPacked().plan(new int[] {60, 50}).size());
  }
}
