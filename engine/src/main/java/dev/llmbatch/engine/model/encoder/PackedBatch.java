package dev.llmbatch.engine.model.encoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.llmbatch.engine.EngineException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A batch of token sequences packed without padding: rows ordered longest first, their N real
 * tokens back to back, so every projection, norm and MLP computes real tokens only. Attention,
 * which needs a rectangle, runs per {@link Group}: consecutive rows whose lengths differ by at most
 * an eighth, padded to the group's longest with an additive key mask, and few enough that the
 * group's (G, heads, T, T) scores stay within {@link #SCORE_BUDGET} elements (cache-sized, instead of
 * one batch-wide tensor padded to the batch's longest row). Rows of one length need no mask and no
 * gather.
 *
 * @param order packed row → input row
 * @param lengths tokens per packed row
 * @param starts first token of each packed row
 * @param ids (N) token ids
 * @param positions (N) position ids
 * @param groups attention groups covering the packed rows in order (none when fused)
 * @param fused attention runs in one fused call over the packed rows
 */
record PackedBatch(int[] order, int[] lengths, int[] starts, NDArray ids, NDArray positions,
    List<Group> groups, boolean fused) {
  /** Most attention-score elements one group computes at once (8 MiB in FP32). */
  static final long SCORE_BUDGET = 1L << 21;
  /** Added to attention scores of padded keys: large enough to zero them after softmax. */
  private static final float MASKED = -1e30f;

  /**
   * {@code rows} consecutive rows of the packing, tokens {@code firstToken .. endToken}, attended
   * as a (rows, maxLen) rectangle.
   *
   * @param gather (rows·maxLen) token index per rectangle cell (a pad repeats its row's last
   *     token), or null when every row has maxLen tokens: the rectangle is then a plain slice
   * @param scatter (endToken − firstToken) rectangle cell per real token, or null likewise
   * @param keyMask (rows, 1, 1, maxLen) additive mask, or null when nothing is padded
   * @param positionBias (1, heads, maxLen, maxLen) MPNet's relative position bias, or null
   */
  record Group(int rows, int maxLen, int firstToken, int endToken, NDArray gather,
      NDArray scatter, NDArray keyMask, NDArray positionBias) {}

  /**
   * Packs {@code rows} for {@code c}, creating its index tensors in {@code m}.
   * {@code positionBias} gives MPNet's (1, heads, T, T) bias for a length T, or is null.
   * {@code fused}: attention will run in {@link dev.llmbatch.engine.runtime.CpuKernels} over the
   * packed rows themselves, so no groups (nor their gathers and masks) are built.
   */
  static PackedBatch of(List<int[]> rows, EncoderConfig c, NDManager m,
      IntFunction<NDArray> positionBias, boolean fused) {
    int b = rows.size();
    Integer[] boxed = new Integer[b];
    for (int i = 0; i < b; i++) {
      int[] r = rows.get(i);
      if (r.length == 0) {
        throw new EngineException("Cannot encode an empty token sequence: every input needs at"
            + " least one token (the tokenizer's special tokens)");
      }
      if (r.length > c.maxTokens()) {
        throw new EngineException("Cannot encode a sequence of " + r.length + " tokens: "
            + c.architecture() + " allows at most " + c.maxTokens()
            + " (max_position_embeddings); truncate first");
      }
      boxed[i] = i;
    }
    Arrays.sort(boxed, (x, y) -> Integer.compare(rows.get(y).length, rows.get(x).length));
    int[] order = new int[b];
    int[] lengths = new int[b];
    int[] starts = new int[b];
    int n = 0;
    for (int j = 0; j < b; j++) {
      order[j] = boxed[j];
      lengths[j] = rows.get(order[j]).length;
      starts[j] = n;
      n += lengths[j];
    }
    long[] ids = new long[n];
    long[] pos = new long[n];
    int offset = c.positionOffset();
    for (int j = 0; j < b; j++) {
      int[] r = rows.get(order[j]);
      for (int p = 0; p < r.length; p++) {
        if (r[p] < 0 || r[p] >= c.vocabSize()) {
          throw new EngineException("Cannot encode token id " + r[p] + " at position " + p
              + " of input " + order[j] + ": outside the vocabulary 0.." + (c.vocabSize() - 1));
        }
        ids[starts[j] + p] = r[p];
        pos[starts[j] + p] = offset + p; // RoBERTa-style: real tokens count from padding_idx + 1
      }
    }
    List<Group> groups = new ArrayList<>();
    Map<Integer, NDArray> biasByLength = new HashMap<>();
    long perRow = c.numAttentionHeads();
    int j = fused ? b : 0;
    while (j < b) {
      int t = lengths[j];
      int end = j + 1;
      while (end < b && t - lengths[end] <= t / 8
          && (end - j + 1) * perRow * t * t <= SCORE_BUDGET) {
        end++;
      }
      groups.add(group(j, end, t, lengths, starts, m,
          positionBias == null ? null : biasByLength.computeIfAbsent(t, positionBias::apply)));
      j = end;
    }
    return new PackedBatch(order, lengths, starts, m.create(ids, new Shape(n)),
        m.create(pos, new Shape(n)), List.copyOf(groups), fused);
  }

  private static Group group(int first, int end, int t, int[] lengths, int[] starts, NDManager m,
      NDArray positionBias) {
    int rows = end - first;
    int firstToken = starts[first];
    int endToken = starts[end - 1] + lengths[end - 1];
    if (lengths[end - 1] == t) { // all rows of length t: a slice
      return new Group(rows, t, firstToken, endToken, null, null, null, positionBias);
    }
    long[] gather = new long[rows * t];
    long[] scatter = new long[endToken - firstToken];
    float[] mask = new float[rows * t];
    int k = 0;
    for (int r = 0; r < rows; r++) {
      int len = lengths[first + r];
      int s = starts[first + r];
      for (int p = 0; p < t; p++) {
        boolean real = p < len;
        gather[r * t + p] = real ? s + p : s + len - 1;
        mask[r * t + p] = real ? 0f : MASKED;
        if (real) {
          scatter[k++] = r * t + p;
        }
      }
    }
    return new Group(rows, t, firstToken, endToken, m.create(gather), m.create(scatter),
        m.create(mask, new Shape(rows, 1, 1, t)), positionBias);
  }

  int size() {
    return order.length;
  }

  /** (B) token index of each packed row's first token. */
  NDArray firstTokens(NDManager m) {
    return m.create(Arrays.stream(starts).asLongStream().toArray());
  }

  /** (B) token index of each packed row's last token. */
  NDArray lastTokens(NDManager m) {
    long[] last = new long[order.length];
    for (int j = 0; j < last.length; j++) {
      last[j] = starts[j] + lengths[j] - 1L;
    }
    return m.create(last);
  }

  /** Rows of {@code flat} (packed order, {@code width} wide) put back in input order. */
  float[][] unpack(float[] flat, int width) {
    float[][] out = new float[order.length][];
    for (int j = 0; j < order.length; j++) {
      out[order[j]] = Arrays.copyOfRange(flat, j * width, (j + 1) * width);
    }
    return out;
  }

  /** The tokens {@code start .. end} of (N, H) {@code h}. */
  static NDArray tokens(NDArray h, int start, int end) {
    return h.get(new NDIndex("{}:{}", start, end));
  }
}
