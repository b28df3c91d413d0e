package dev.llmbatch.engine.generate;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.runtime.CpuKernels;
import java.util.Arrays;
import java.util.Map;

/**
 * Picks the next token of one choice from its logits. Each choice owns a sampler whose random
 * stream is keyed by (request seed, choice index) only, so a choice's tokens never depend on what
 * else shares the batch.
 *
 * <p>Order, as in Hugging Face and vLLM: penalties, temperature, top_k, top_p (over the top_k
 * survivors), then a draw. The draw is the Gumbel-max trick, {@code argmax(l_i / T + g_i)} with
 * {@code g_i} Gumbel noise from a counter-based hash of (stream, step, token id): exactly a sample of
 * {@code softmax(l / T)}, and robust to the last-bit differences that batched matmuls put into
 * logits (a flip needs the two best perturbed scores within ~1e-6 of each other), where an
 * inverse-CDF walk over 150k cumulative probabilities flips often.
 */
public final class Sampler {
  private static final long GOLDEN = 0x9E3779B97F4A7C15L;

  private final SamplingParams params;
  private final long stream;
  private long step;

  /** The sampler of choice {@code choiceIndex} of a request. */
  public Sampler(SamplingParams params, int choiceIndex) {
    this.params = params;
    this.stream = mix(params.seed() + GOLDEN * (choiceIndex + 1L));
  }

  /**
   * The next token. {@code generatedCounts} (token id → times generated so far) feeds the penalties
   * and may be empty. {@code logits} is not modified.
   */
  public int sample(float[] logits, Map<Integer, Integer> generatedCounts) {
    float[] l = logits;
    if (params.hasPenalties() && !generatedCounts.isEmpty()) {
      l = logits.clone();
      // OpenAI: mu[j] -= c[j] * frequency_penalty + (c[j] > 0) * presence_penalty
      for (Map.Entry<Integer, Integer> e : generatedCounts.entrySet()) {
        int id = e.getKey();
        if (id >= 0 && id < l.length) {
          l[id] -= (float) (e.getValue() * params.frequencyPenalty() + params.presencePenalty());
        }
      }
    }
    long key = mix(stream + GOLDEN * ++step); // one key per sampled token of this choice
    if (params.isGreedy()) {
      return argmax(l);
    }
    double invT = 1.0 / params.temperature();
    int k = params.topK() > 0 && params.topK() < l.length ? params.topK() : 0;
    if (k == 0 && params.topP() >= 1) {
      return drawFull(l, invT, key);
    }
    return k > 0 ? drawSorted(l, topK(l, k), invT, key) : drawNucleus(l, invT, key);
  }

  /**
   * Index of the largest logit, the lowest index on ties; NaN logits are an engine failure. The
   * CPU kernels' vector loop where they are loaded ({@link CpuKernels#argmax}), else this one.
   */
  public static int argmax(float[] l) {
    int r = CpuKernels.argmax(l);
    if (r >= 0) {
      return r;
    }
    if (r != Integer.MIN_VALUE) {
      throw nanLogit(-1 - r);
    }
    return argmaxLoop(l);
  }

  /** {@link #argmax} in Java. */
  static int argmaxLoop(float[] l) {
    int best = 0;
    float bv = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < l.length; i++) {
      float v = l[i];
      if (v != v) {
        throw nanLogit(i);
      }
      if (v > bv) {
        bv = v;
        best = i;
      }
    }
    return best;
  }

  /** The failure for a NaN logit at {@code token} (the first in the row). */
  private static EngineException nanLogit(int token) {
    return new EngineException("Cannot sample: the model produced NaN logits (token " + token
        + ")");
  }

  // Gumbel-max over the whole vocabulary: no sort needed. Where the CPU kernels run, they rule
  // out the tokens that cannot win (CpuKernels.gumbelCandidates: drawFullLoop's tests, 8 tokens a
  // vector, against a threshold raised by libm-scored approximations) and the few left, the
  // winner and anything tied with it among them, are scored here exactly as there: the same token.
  static int drawFull(float[] l, double invT, long key) {
    int top = argmax(l); // (a NaN logit fails here, as in the loop)
    if (l[top] == Float.NEGATIVE_INFINITY) {
      return top; // every logit -inf: degenerate, take the first
    }
    double topScore = l[top] * invT + gumbelOf(noiseBits(key, top)); // the winner's is no lower
    int[] ids = CANDIDATES.get();
    if (ids.length < l.length) {
      ids = new int[l.length];
      CANDIDATES.set(ids);
    }
    int n = CpuKernels.gumbelCandidates(l, invT, key, topScore, CANNOT_CATCH_UP,
        CATCH_UP_BINS_PER_UNIT, MAX_GUMBEL, ids);
    if (n < 0) {
      return drawFullLoop(l, invT, key);
    }
    int best = top;
    double bestScore = topScore;
    for (int j = 0; j < n; j++) { // ascending ids: the lowest wins a tie, as in the loop
      int i = ids[j];
      double score = l[i] * invT + gumbelOf(noiseBits(key, i));
      if (score > bestScore || (score == bestScore && i < best)) {
        bestScore = score;
        best = i;
      }
    }
    return best;
  }

  // A thread's buffer for drawFull's candidates (draws run on the engine's and the draw pool's
  // threads), as long as the longest row seen.
  private static final ThreadLocal<int[]> CANDIDATES = ThreadLocal.withInitial(() -> new int[0]);

  // drawFull in Java alone.
  static int drawFullLoop(float[] l, double invT, long key) {
    int best = -1;
    double bestScore = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < l.length; i++) {
      double z = l[i] * invT;
      if (z != z) {
        throw nanLogit(i);
      }
      if (z + MAX_GUMBEL <= bestScore || z == Double.NEGATIVE_INFINITY) {
        continue; // cannot win even with the largest noise the hash can produce
      }
      long bits = noiseBits(key, i);
      double behind = bestScore - z; // < MAX_GUMBEL here
      if (behind > 0 && bits <= CANNOT_CATCH_UP[(int) (behind * CATCH_UP_BINS_PER_UNIT)]) {
        continue; // its noise is at most behind: cannot win (most tokens, without two logs)
      }
      double score = z + gumbelOf(bits);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best < 0 ? argmax(l) : best; // every logit -inf: degenerate, take the first
  }

  // order: keys from key(), ascending = logits descending. top_p keeps the shortest prefix whose
  // mass reaches top_p (at least one token), as HF's TopPLogitsWarper does; then Gumbel-max.
  int drawSorted(float[] l, long[] order, double invT, long key) {
    int m = order.length;
    int keep = m;
    if (params.topP() < 1) {
      double max = l[idOf(order[0])];
      double[] p = new double[m];
      double sum = 0;
      for (int j = 0; j < m; j++) {
        p[j] = Math.exp((l[idOf(order[j])] - max) * invT);
        sum += p[j];
      }
      double acc = 0;
      for (int j = 0; j < m; j++) {
        acc += p[j] / sum;
        if (acc >= params.topP()) {
          keep = j + 1;
          break;
        }
      }
    }
    return drawPrefix(l, order, keep, invT, key);
  }

  // Gumbel-max over the first keep tokens of order (logits descending), with drawFullLoop's tests:
  // a token they pass over cannot beat the best so far, and once the largest noise cannot lift a
  // token to it, none further down can. The token of scoring them all (drawPrefixLoop), with the
  // logs of a few (a top_p nucleus can hold thousands of tokens).
  static int drawPrefix(float[] l, long[] order, int keep, double invT, long key) {
    int best = idOf(order[0]);
    double bestScore = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < keep; j++) {
      int id = idOf(order[j]);
      double z = l[id] * invT;
      if (z + MAX_GUMBEL <= bestScore) {
        break; // its score, and every later one's, stays under the best
      }
      long bits = noiseBits(key, id);
      double behind = bestScore - z; // < MAX_GUMBEL here
      if (behind > 0 && bits <= CANNOT_CATCH_UP[(int) (behind * CATCH_UP_BINS_PER_UNIT)]) {
        continue;
      }
      double score = z + gumbelOf(bits);
      if (score > bestScore) {
        bestScore = score;
        best = id;
      }
    }
    return best;
  }

  // drawPrefix scoring every token.
  static int drawPrefixLoop(float[] l, long[] order, int keep, double invT, long key) {
    int best = idOf(order[0]);
    double bestScore = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < keep; j++) {
      int id = idOf(order[j]);
      double score = l[id] * invT + gumbel(key, id);
      if (score > bestScore) {
        bestScore = score;
        best = id;
      }
    }
    return best;
  }

  // Bins of d = (logit - max) / T, NUCLEUS_BIN wide below the best, for drawNucleus, down to
  // d = -37; past that, one bin holds the rest: e^d < 2^-53 there, so each such term of the
  // softmax's normalizer (at least 1, the best token's) would vanish from it in rounding anyway.
  private static final double NUCLEUS_BIN = 0.5;
  private static final int NUCLEUS_BINS = 74; // 74 · 0.5 = 37

  private static int nucleusBin(double d) {
    return d > -NUCLEUS_BINS * NUCLEUS_BIN ? (int) (d * (-1 / NUCLEUS_BIN)) : NUCLEUS_BINS;
  }

  // The softmax mass drawNucleus may leave unaccounted for in bins it only counts, as a fraction
  // of the normalizer (at least 1): a decision closer to top_p than that falls to the exact pass.
  private static final double NUCLEUS_TAIL = 1e-5;

  // top_p over the whole vocabulary, as drawSorted over every token sorted, without sorting them
  // all (sorting 128-152k keys took 8-20 ms a draw here: at 32 rows, several times a decode step):
  // the tokens are counted into bins by how far below the best their scaled logit lies, once; a
  // bounded pass (nucleus, exact false) decides where it can, an exact one where it cannot, and
  // where neither can, every token is sorted.
  int drawNucleus(float[] l, double invT, long key) {
    double max = l[argmax(l)];
    int[] count = new int[NUCLEUS_BINS + 1];
    byte[] bins = new byte[l.length];
    // on the CPU kernels, each bin's mass comes with its count (the same bins, from nucleusBin's
    // expression), for the bounded pass
    double[] binMass = new double[NUCLEUS_BINS + 1];
    if (!CpuKernels.nucleusBins(l, max, invT, -NUCLEUS_BINS * NUCLEUS_BIN, -1 / NUCLEUS_BIN, bins,
        count, binMass)) {
      binMass = null;
      for (int i = 0; i < l.length; i++) {
        int b = nucleusBin((l[i] - max) * invT);
        bins[i] = (byte) b;
        count[b]++;
      }
    }
    int t = nucleus(l, max, invT, key, bins, count, false, binMass);
    if (t < 0) {
      t = nucleus(l, max, invT, key, bins, count, true, null);
    }
    return t >= 0 ? t : drawSorted(l, sortedAll(l), invT, key);
  }

  // One pass of drawNucleus over the binned tokens: the token drawn, or -1 where it cannot decide.
  // Bounded (exact false): the bins from the bottom whose counts bound their mass under
  // NUCLEUS_TAIL keep that bound (each token there has e^d in (e^-(b+1)/2, e^-b/2]) and only the
  // others' exps are computed, so the normalizer is known to within the tail's bounds (and 1e-12
  // for rounding). Exact: every exp, the normalizer summed as drawSorted would use it. Either way
  // the bins from the top reaching top_p of the normalizer's largest value bound the nucleus, and
  // the tokens down to one bin further (the margin for rounding) are sorted and walked: bins follow
  // the logit, so those are exactly the first tokens of drawSorted's order. The bounded walk gives
  // up where a step could fall either side of top_p within the bounds, so both passes draw
  // drawSorted's tokens, token for token.
  private int nucleus(float[] l, double max, double invT, long key, byte[] bins, int[] count,
      boolean exact, double[] binMass) {
    double tailHi = 0;
    double tailLo = 0;
    int computed = NUCLEUS_BINS - 1; // the last bin whose tokens' exps are computed
    if (!exact) {
      tailHi = count[NUCLEUS_BINS] * Math.exp(-NUCLEUS_BINS * NUCLEUS_BIN);
      while (computed >= 0) {
        double hi = count[computed] * Math.exp(-computed * NUCLEUS_BIN);
        if (tailHi + hi > NUCLEUS_TAIL) {
          break;
        }
        tailHi += hi;
        tailLo += count[computed] * Math.exp(-(computed + 1) * NUCLEUS_BIN);
        computed--;
      }
    }
    double[] mass = new double[NUCLEUS_BINS + 1];
    double head = 0;
    if (binMass != null) { // bounded, on the CPU kernels: their per-bin sums (to ~2 ulp a term, in
      // another order: within the bounds' 1e-12)
      for (int b = 0; b <= computed; b++) {
        mass[b] = binMass[b];
        head += binMass[b];
      }
    } else { // in Java: the exact pass (summed as drawSorted sums them), or no CPU kernels
      for (int i = 0; i < l.length; i++) {
        int b = bins[i];
        if (b <= computed) {
          double e = Math.exp((l[i] - max) * invT);
          head += e;
          mass[b] += e;
        }
      }
    }
    double sumLo = exact ? head : (head + tailLo) * (1 - 1e-12);
    double sumHi = exact ? head : (head + tailHi) * (1 + 1e-12);
    double reached = 0;
    int last = 0;
    int kept = 0;
    while (last <= computed && (reached += mass[last]) < params.topP() * sumHi) {
      kept += count[last++];
    }
    if (last > computed || last + 1 >= NUCLEUS_BINS) {
      return -1;
    }
    long[] order = new long[kept + count[last] + count[last + 1]];
    if (CpuKernels.nucleusKeys(l, bins, last + 1, order) != order.length) { // (the same keys)
      for (int i = 0, j = 0; j < order.length; i++) {
        if (bins[i] <= last + 1) {
          order[j++] = key(l[i], i);
        }
      }
    }
    Arrays.sort(order);
    double run = 0;
    for (int j = 0; j < order.length; j++) {
      double e = Math.exp((l[idOf(order[j])] - max) * invT);
      // exact: accumulated as drawSorted does, a share at a time
      run += exact ? e / head : e;
      if ((exact ? run : run / sumHi) >= params.topP()) {
        return drawPrefix(l, order, j + 1, invT, key); // reached here whatever the tail holds
      }
      if (!exact && run / sumLo >= params.topP()) {
        return -1; // reached here or not, depending on the tail
      }
    }
    return -1;
  }

  // Largest Gumbel value gumbel() can return: -log(-log(1 - 2^-54)).
  private static final double MAX_GUMBEL = 37.5;

  // Standard Gumbel noise for (key, token id): -log(-log(u)), u uniform in (0, 1) from a hash.
  private static double gumbel(long key, int id) {
    return gumbelOf(noiseBits(key, id));
  }

  // The hash's 53 bits q for (key, token id): u = (q + 0.5) · 2^-53.
  private static long noiseBits(long key, int id) {
    return mix(key + GOLDEN * (id + 1L)) >>> 11;
  }

  private static double gumbelOf(long bits) {
    double u = (bits + 0.5) * 0x1.0p-53;
    return -Math.log(-Math.log(u));
  }

  // A token whose scaled logit lies `behind` under the best score so far wins only if its noise
  // -log(-log(u)) exceeds behind, that is only if u > exp(-exp(-behind)), which is at least
  // 1 - exp(-behind). CANNOT_CATCH_UP[b] is the largest q with u <= 1 - exp(-behind) for every
  // behind in bin b (behind >= b / CATCH_UP_BINS_PER_UNIT, less 1e-6 so that rounding cannot
  // make a passed-over token the winner): drawFull passes such a token over without the two
  // logarithms of its noise (5.5 ms a draw over 152k tokens before, most of them computed).
  private static final int CATCH_UP_BINS_PER_UNIT = 8;
  private static final long[] CANNOT_CATCH_UP =
      new long[(int) (MAX_GUMBEL * CATCH_UP_BINS_PER_UNIT) + 1];

  static {
    for (int b = 0; b < CANNOT_CATCH_UP.length; b++) {
      double behind = (double) b / CATCH_UP_BINS_PER_UNIT - 1e-6;
      CANNOT_CATCH_UP[b] =
          behind <= 0 ? -1 : (long) Math.floor(-Math.expm1(-behind) * 0x1.0p53 - 0.5);
    }
  }

  // A long whose ascending order is logit descending, then id ascending.
  private static long key(float v, int id) {
    if (v != v) {
      throw nanLogit(id);
    }
    int bits = Float.floatToIntBits(v == 0f ? 0f : v);
    int sortable = bits ^ ((bits >> 31) & 0x7fffffff); // int order == float order
    return ((long) ~sortable << 32) | (id & 0xffffffffL);
  }

  private static int idOf(long key) {
    return (int) key;
  }

  static long[] sortedAll(float[] l) {
    long[] keys = new long[l.length];
    for (int i = 0; i < l.length; i++) {
      keys[i] = key(l[i], i);
    }
    Arrays.sort(keys);
    return keys;
  }

  // The k best tokens' keys, ascending: on the CPU kernels where they run (the same keys, 16
  // logits a comparison where none enters), else topKLoop.
  static long[] topK(float[] l, int k) {
    long[] out = new long[k];
    int r = CpuKernels.topKeys(l, out);
    if (r >= 0) {
      return out;
    }
    if (r != Integer.MIN_VALUE) {
      throw nanLogit(-1 - r);
    }
    return topKLoop(l, k);
  }

  // The k smallest keys (k largest logits), sorted, via a bounded max-heap: O(V log k).
  static long[] topKLoop(float[] l, int k) {
    long[] heap = new long[k];
    int size = 0;
    for (int i = 0; i < l.length; i++) {
      long kv = key(l[i], i);
      if (size < k) {
        heap[size] = kv;
        siftUp(heap, size++);
      } else if (kv < heap[0]) {
        heap[0] = kv;
        siftDown(heap, k);
      }
    }
    Arrays.sort(heap);
    return heap;
  }

  private static void siftUp(long[] h, int i) {
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      if (h[parent] >= h[i]) {
        return;
      }
      long t = h[parent];
      h[parent] = h[i];
      h[i] = t;
      i = parent;
    }
  }

  private static void siftDown(long[] h, int size) {
    int i = 0;
    while (true) {
      int c = 2 * i + 1;
      if (c >= size) {
        return;
      }
      if (c + 1 < size && h[c + 1] > h[c]) {
        c++;
      }
      if (h[i] >= h[c]) {
        return;
      }
      long t = h[c];
      h[c] = h[i];
      h[i] = t;
      i = c;
    }
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
