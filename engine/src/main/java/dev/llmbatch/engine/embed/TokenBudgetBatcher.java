package dev.llmbatch.engine.embed;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Groups inputs into batches whose padded size ({@code rows × longest}) stays within a token
 * budget, after sorting by length so that rows of similar length share a batch and little compute
 * goes to padding. Results are put back in input order by the caller using {@link Batch#rows()}.
 *
 * @param tokenBudget the most padded tokens one forward may hold
 * @param maxRows the most rows one forward may hold
 */
public record TokenBudgetBatcher(int tokenBudget, int maxRows) {
  public TokenBudgetBatcher {
    if (tokenBudget <= 0 || maxRows <= 0) {
      throw new IllegalArgumentException("Invalid batcher: token budget " + tokenBudget
          + " and max rows " + maxRows + " must be positive");
    }
  }

  /**
   * One forward's worth of inputs.
   *
   * @param rows indices into the input list, longest first
   * @param maxLen the longest row's length
   * @param realTokens the sum of the rows' lengths
   */
  public record Batch(int[] rows, int maxLen, long realTokens) {
    /** Tokens computed including padding. */
    public long paddedTokens() {
      return (long) rows.length * maxLen;
    }
  }

  /** Plans batches over inputs of the given lengths (each ≥ 1). */
  public List<Batch> plan(int[] lengths) {
    Integer[] order = new Integer[lengths.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    // longest first, ties by input order: deterministic plans
    Arrays.sort(order, Comparator.<Integer>comparingInt(i -> -lengths[i]).thenComparingInt(i -> i));
    List<Batch> out = new ArrayList<>();
    int start = 0;
    while (start < order.length) {
      int maxLen = lengths[order[start]];
      int end = start + 1;
      // sorted descending: the first row is the longest, so rows × maxLen bounds the batch
      while (end < order.length && end - start < maxRows
          && (long) (end - start + 1) * maxLen <= tokenBudget) {
        end++;
      }
      int[] rows = new int[end - start];
      long real = 0;
      for (int k = start; k < end; k++) {
        rows[k - start] = order[k];
        real += lengths[order[k]];
      }
      out.add(new Batch(rows, maxLen, real));
      start = end;
    }
    return out;
  }

  /** Σ real tokens / Σ padded tokens over {@code batches}: 1.0 means no padding at all. */
  public static double paddingEfficiency(List<Batch> batches) {
    long real = 0;
    long padded = 0;
    for (Batch b : batches) {
      real += b.realTokens();
      padded += b.paddedTokens();
    }
    return padded == 0 ? 1.0 : (double) real / padded;
  }
}
