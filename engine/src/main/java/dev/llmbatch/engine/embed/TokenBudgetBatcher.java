package dev.llmbatch.engine.embed;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Groups inputs into batches, after sorting by length so that rows of similar length share a
 * batch. Two budgets, by how the encoder computes a batch:
 * <ul>
 *   <li>padded (the default): {@code rows × longest} stays within the token budget, and once a
 *       batch is big enough to keep the matmuls efficient (an eighth of the budget), a row shorter
 *       than 3/4 of the batch's longest starts a new batch, so little compute goes to padding;
 *   <li>{@linkplain #asPacked() packed}, for an encoder that computes real tokens only (BERT-style
 *       encoders pack a batch without padding): the sum of the rows' lengths stays within the
 *       budget and short rows never split a batch, so every forward's matmuls get the most rows.
 * </ul>
 * Results are put back in input order by the caller using {@link Batch#rows()}.
 *
 * @param tokenBudget the most tokens (padded, or real when packed) one forward may hold
 * @param maxRows the most rows one forward may hold
 * @param packed whether the budget counts real tokens
 */
public record TokenBudgetBatcher(int tokenBudget, int maxRows, boolean packed) {
  public TokenBudgetBatcher {
    if (tokenBudget <= 0 || maxRows <= 0) {
      throw new IllegalArgumentException("Invalid batcher: token budget " + tokenBudget
          + " and max rows " + maxRows + " must be positive");
    }
  }

  /** A padded-budget batcher. */
  public TokenBudgetBatcher(int tokenBudget, int maxRows) {
    this(tokenBudget, maxRows, false);
  }

  /** This batcher with its budget counting real tokens (for an encoder that packs batches). */
  public TokenBudgetBatcher asPacked() {
    return new TokenBudgetBatcher(tokenBudget, maxRows, true);
  }

  /**
   * One forward's worth of inputs.
   *
   * @param rows indices into the input list, longest first
   * @param maxLen the longest row's length
   * @param realTokens the sum of the rows' lengths
   * @param packed whether the encoder computes real tokens only
   */
  public record Batch(int[] rows, int maxLen, long realTokens, boolean packed) {
    /** Tokens computed including padding (the real tokens, when packed). */
    public long paddedTokens() {
      return packed ? realTokens : (long) rows.length * maxLen;
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
      if (packed) {
        long sum = maxLen;
        while (end < order.length && end - start < maxRows
            && sum + lengths[order[end]] <= tokenBudget) {
          sum += lengths[order[end]];
          end++;
        }
      } else {
        // sorted descending: the first row is the longest, so rows × maxLen bounds the batch.
        // Once a batch holds an efficient GEMM's worth of tokens (budget / 8), a row much
        // shorter than the longest starts the next batch instead of being padded to it.
        while (end < order.length && end - start < maxRows
            && (long) (end - start + 1) * maxLen <= tokenBudget
            && (lengths[order[end]] * 4L >= maxLen * 3L
                || (long) (end - start) * maxLen < tokenBudget / 8)) {
          end++;
        }
      }
      int[] rows = new int[end - start];
      long real = 0;
      for (int k = start; k < end; k++) {
        rows[k - start] = order[k];
        real += lengths[order[k]];
      }
      out.add(new Batch(rows, maxLen, real, packed));
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
