package dev.llmbatch.engine.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.runtime.CpuKernels;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SamplerTest {
  private static SamplingParams params(double t, double topP, int topK, long seed) {
    return new SamplingParams(t, topP, topK, 16, 1, seed, List.of(), false, 0, 0);
  }

  private static float[] randomLogits(int v, long seed) {
    Random r = new Random(seed);
    float[] l = new float[v];
    for (int i = 0; i < v; i++) {
      l[i] = (float) (r.nextGaussian() * 2);
    }
    return l;
  }

  private static int[] draw(SamplingParams p, int choice, float[] logits, int count) {
    Sampler s = new Sampler(p, choice);
    int[] out = new int[count];
    for (int i = 0; i < count; i++) {
      out[i] = s.sample(logits, Map.of());
    }
    return out;
  }

  @Test
  void greedyIsArgmaxWithLowestIdOnTies() {
    float[] l = {1f, 3f, 3f, -2f};
    assertEquals(1, new Sampler(params(0, 1, 0, 1), 0).sample(l, Map.of()));
    assertEquals(1, new Sampler(params(0.7, 1, 1, 1), 0).sample(l, Map.of())); // top_k 1
  }

  @Test
  void sameSeedAndChoiceDrawTheSameTokensAndChoicesDiffer() {
    float[] l = randomLogits(500, 3);
    SamplingParams p = params(1.0, 0.9, 50, 42);
    assertArrayEquals(draw(p, 0, l, 200), draw(p, 0, l, 200));
    assertFalse(java.util.Arrays.equals(draw(p, 0, l, 200), draw(p, 1, l, 200)));
    assertFalse(java.util.Arrays.equals(draw(p, 0, l, 200), draw(params(1, 0.9, 50, 43), 0, l, 200)));
  }

  @Test
  void temperatureOneFollowsTheSoftmax() {
    // p(1) = e^{ln 3} / (1 + e^{ln 3}) = 0.75
    float[] l = {0f, (float) Math.log(3)};
    int[] t = draw(params(1.0, 1, 0, 7), 0, l, 20000);
    double ones = java.util.Arrays.stream(t).filter(x -> x == 1).count() / 20000.0;
    assertEquals(0.75, ones, 0.015);
  }

  @Test
  void temperatureOverALargeVocabularyFollowsTheSoftmax() {
    // 100k tokens (the draw passes over most without computing their noise): three carry the mass,
    // 4 : 2 : 1 at T = 1 and 2 : √2 : 1 at T = 2; the others, 50 nats under at T = 1 and 25 at
    // T = 2, add up to 2e-17 and 1.4e-6 of the mass
    float[] l = new float[100_000];
    java.util.Arrays.fill(l, -40f);
    int[] head = {31_337, 5, 99_999};
    l[head[0]] = 10f;
    l[head[1]] = (float) (10 - Math.log(2));
    l[head[2]] = (float) (10 - Math.log(4));
    for (double t : new double[] {1.0, 2.0}) {
      double[] w = {1, Math.exp(-Math.log(2) / t), Math.exp(-Math.log(4) / t)};
      double total = w[0] + w[1] + w[2];
      int[] hits = new int[3];
      int draws = 4000;
      for (int tok : draw(params(t, 1, 0, 13), 0, l, draws)) {
        int at = tok == head[0] ? 0 : tok == head[1] ? 1 : tok == head[2] ? 2 : -1;
        assertTrue(at >= 0, "T=" + t + " drew tail token " + tok);
        hits[at]++;
      }
      for (int i = 0; i < 3; i++) {
        assertEquals(w[i] / total, hits[i] / (double) draws, 0.03, "T=" + t + " token " + head[i]);
      }
    }
  }

  @Test
  void topKAndTopPKeepOnlyTheirCandidates() {
    float[] l = randomLogits(1000, 5);
    int[] order = java.util.stream.IntStream.range(0, l.length).boxed()
        .sorted((a, b) -> Float.compare(l[b], l[a])).mapToInt(Integer::intValue).toArray();
    for (int tok : draw(params(2.0, 1, 3, 9), 0, l, 2000)) {
      assertTrue(tok == order[0] || tok == order[1] || tok == order[2], "top_k=3 drew " + tok);
    }
    // top_p: the nucleus is the shortest prefix (by logit) reaching the mass.
    double max = l[order[0]];
    double sum = 0;
    for (float v : l) {
      sum += Math.exp(v - max);
    }
    double acc = 0;
    int nucleus = 0;
    while (acc < 0.5) {
      acc += Math.exp(l[order[nucleus++]] - max) / sum;
    }
    java.util.Set<Integer> allowed = new java.util.HashSet<>();
    for (int i = 0; i < nucleus; i++) {
      allowed.add(order[i]);
    }
    java.util.Set<Integer> seen = new java.util.HashSet<>();
    for (int tok : draw(params(1.0, 0.5, 0, 11), 0, l, 5000)) {
      assertTrue(allowed.contains(tok), "top_p=0.5 drew " + tok + " outside the nucleus");
      seen.add(tok);
    }
    assertEquals(allowed, seen, "every nucleus token is drawn at some point");
  }

  /** The nucleus by definition: logits descending (ids ascending on ties), the shortest prefix whose softmax mass at temperature t reaches topP. */
  private static java.util.Set<Integer> nucleus(float[] l, double t, double topP) {
    Integer[] order = java.util.stream.IntStream.range(0, l.length).boxed().toArray(Integer[]::new);
    java.util.Arrays.sort(order, (a, b) -> l[a] != l[b] ? Float.compare(l[b], l[a]) : a - b);
    double max = l[order[0]];
    double sum = 0;
    for (int id : order) {
      sum += Math.exp((l[id] - max) / t);
    }
    java.util.Set<Integer> in = new java.util.HashSet<>();
    double acc = 0;
    for (int id : order) {
      in.add(id);
      acc += Math.exp((l[id] - max) / t) / sum;
      if (acc >= topP) {
        break;
      }
    }
    return in;
  }

  @Test
  void topPOverALargeVocabularyDrawsOnlyFromItsNucleus() {
    // a 150k vocabulary as LMs have (the sampler bins it rather than sorting it all): a peaked head
    // over a broad tail, some tokens masked to -inf
    Random r = new Random(17);
    float[] l = new float[150_000];
    for (int i = 0; i < l.length; i++) {
      l[i] = i % 97 == 0 ? Float.NEGATIVE_INFINITY : (float) (r.nextGaussian() * 2.5);
    }
    for (int i = 0; i < 25; i++) {
      l[r.nextInt(l.length)] = (float) (11 + r.nextGaussian() * 1.5);
    }
    for (double[] tp : new double[][] {{0.6, 0.8}, {1.0, 0.95}, {1.6, 0.3}, {1.0, 0.5}}) {
      double t = tp[0];
      double topP = tp[1];
      {
        java.util.Set<Integer> in = nucleus(l, t, topP);
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int tok : draw(params(t, topP, 0, 5), 0, l, 100)) {
          assertTrue(in.contains(tok), "T=" + t + " top_p=" + topP + " drew " + tok
              + " outside its nucleus of " + in.size());
          seen.add(tok);
        }
        assertTrue(seen.size() > 1 || in.size() == 1, "T=" + t + " top_p=" + topP + ": one token"
            + " drawn 100 times from a nucleus of " + in.size());
      }
    }
  }

  /** {@code vocab} logits of {@code rest}, but {@code value} at the given ids. */
  private static float[] tied(int vocab, float rest, float value, int... ids) {
    float[] l = new float[vocab];
    java.util.Arrays.fill(l, rest);
    for (int id : ids) {
      l[id] = value;
    }
    return l;
  }

  /** The distinct tokens of {@code count} draws at temperature 1. */
  private static java.util.Set<Integer> drawnAtTopP(float[] l, double topP, long seed, int count) {
    java.util.Set<Integer> seen = new java.util.HashSet<>();
    for (int tok : draw(params(1.0, topP, 0, seed), 0, l, count)) {
      seen.add(tok);
    }
    return seen;
  }

  /** Draws at temperature 1 and top_p give exactly {@code expected}, the nucleus by definition. */
  private static void assertDrawsAre(float[] l, double topP, int draws, Integer... expected) {
    java.util.Set<Integer> seen = drawnAtTopP(l, topP, 21, draws);
    assertEquals(java.util.Set.of(expected), seen);
    assertEquals(nucleus(l, 1.0, topP), seen);
  }

  @Test
  void topPKeepsTiedTokensInIdOrder() {
    // four tied best tokens (~1/4 of the mass each) over a negligible tail: top_p 0.6 needs three
    // of them, the three lowest ids
    assertDrawsAre(tied(20_000, -30f, 5f, 7, 100, 2000, 9000), 0.6, 2000, 7, 100, 2000);
  }

  @Test
  void topPCountsTheMassOfAFarTail() {
    // four tied tokens, then 150k tokens 30 nats under them (each e^-30 of a head token's mass,
    // 1.4e-8 in all): with the tail, two head tokens hold just under half and top_p 0.5 needs a
    // third; with the tail masked out they hold exactly half
    assertDrawsAre(tied(150_004, -30f, 0f, 10, 20, 30, 40), 0.5, 300, 10, 20, 30);
    assertDrawsAre(tied(150_004, Float.NEGATIVE_INFINITY, 0f, 10, 20, 30, 40), 0.5, 300, 10, 20);
  }

  @Test
  void penaltiesLowerRepeatedTokens() {
    float[] l = {0f, 1f, 0.5f};
    Map<Integer, Integer> counts = new HashMap<>(Map.of(1, 2));
    SamplingParams p = new SamplingParams(0, 1, 0, 16, 1, 0, List.of(), false, 0.3, 0.2);
    // token 1: 1 - (2 * 0.2 + 0.3) = 0.3 < 0.5 -> token 2 wins
    assertEquals(2, new Sampler(p, 0).sample(l, counts));
    assertArrayEquals(new float[] {0f, 1f, 0.5f}, l, "logits are not modified");
  }

  @Test
  void nanLogitsAreAnEngineFailure() {
    float[] l = {0f, Float.NaN};
    assertThrows(EngineException.class, () -> new Sampler(params(0, 1, 0, 1), 0).sample(l, Map.of()));
  }

  /**
   * Greedy decoding's argmax, the CPU kernels' vector loop where they load, is the Java loop's:
   * lowest index on ties (−0 and +0 tie), ties and maxima in a vector's lanes, in the tail past the
   * last whole vector and at index 0, all −∞, ±∞, and the first NaN named wherever it is.
   */
  @Test
  void argmaxIsTheScalarLoopsOnEveryKindOfRow() {
    assumeTrue(CpuKernels.available(), "the CPU kernels are not built here");
    Random rnd = new Random(11);
    int checked = 0;
    for (int n : new int[] {1, 7, 15, 16, 17, 31, 33, 4101, 32000, 151936}) {
      for (int kind = 0; kind < 7; kind++) {
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
          l[i] = kind == 1 ? Float.NEGATIVE_INFINITY : (float) rnd.nextGaussian();
        }
        int at = rnd.nextInt(n);
        switch (kind) {
          case 2 -> { // the maximum at two places: the lower wins
            l[at] = 50f;
            l[rnd.nextInt(n)] = 50f;
          }
          case 3 -> { // −0 and +0 tie as the maximum
            java.util.Arrays.fill(l, -1f);
            l[at] = -0f;
            l[rnd.nextInt(n)] = 0f;
          }
          case 4 -> l[n - 1] = Float.POSITIVE_INFINITY; // in the tail
          case 5 -> { // a NaN, anywhere; the first one is named
            l[at] = Float.NaN;
            l[n - 1] = Float.NaN;
          }
          case 6 -> l[0] = 99f;
          default -> { }
        }
        int expected;
        try {
          expected = Sampler.argmaxLoop(l);
        } catch (EngineException e) {
          EngineException got = assertThrows(EngineException.class, () -> Sampler.argmax(l));
          assertEquals(e.getMessage(), got.getMessage(), "n " + n + " kind " + kind);
          assertEquals(-1 - Math.min(at, n - 1), CpuKernels.argmax(l), "n " + n + ": first NaN");
          checked++;
          continue;
        }
        assertEquals(expected, CpuKernels.argmax(l), "n " + n + " kind " + kind);
        assertEquals(expected, Sampler.argmax(l), "n " + n + " kind " + kind);
        checked++;
      }
    }
    assertEquals(70, checked);
  }

  /**
   * A temperature draw, with the CPU kernels ruling out the tokens that cannot win, draws the Java
   * loop's token: over peaked rows (an LM's), flat ones (a random model's: thousands of
   * candidates), rows with ties, −∞ and +∞ logits, rows shorter than a vector, at temperatures
   * from 0.05 to 2, for 50 keys each.
   */
  @Test
  void aTemperatureDrawIsTheScalarLoopsTokenOnEveryKindOfRow() {
    assumeTrue(CpuKernels.available(), "the CPU kernels are not built here");
    Random rnd = new Random(5);
    int draws = 0;
    int notTop = 0;
    for (int n : new int[] {1, 5, 8, 13, 64, 4101, 32000, 151936}) {
      for (String kind : KINDS) {
        float[] l = row(rnd, n, kind);
        for (double t : new double[] {0.05, 0.6, 1.0, 2.0}) {
          for (int k = 0; k < (n > 20000 ? 10 : 50); k++) {
            long key = rnd.nextLong();
            int expected = Sampler.drawFullLoop(l, 1 / t, key);
            assertEquals(expected, Sampler.drawFull(l, 1 / t, key),
                "n " + n + " kind " + kind + " T " + t + " key " + key);
            notTop += expected != Sampler.argmaxLoop(l) ? 1 : 0;
            draws++;
          }
        }
      }
    }
    assertEquals((6 * 50 + 2 * 10) * KINDS.length * 4, draws);
    assertTrue(notTop > draws / 4, "the draws are draws, not argmaxes: " + notTop);
  }

  /**
   * top_k's best tokens on the CPU kernels are the Java heap's, in its order: over peaked, flat and
   * tied rows (−0 beside +0), ascending and descending rows (every logit enters the heap), rows
   * shorter than a vector, for k from 1 to the whole row; and the first NaN is named.
   */
  @Test
  void topKIsTheJavaHeapsOnEveryKindOfRow() {
    assumeTrue(CpuKernels.available(), "the CPU kernels are not built here");
    Random rnd = new Random(3);
    int rows = 0;
    for (int n : new int[] {1, 9, 16, 40, 4101, 151936}) {
      for (String kind : KINDS) {
        float[] l = row(rnd, n, kind);
        for (int k : new int[] {1, 2, 20, n / 2 + 1, n}) {
          if (k < 1 || k > n) {
            continue;
          }
          assertArrayEquals(Sampler.topKLoop(l, k), Sampler.topK(l, k),
              "n " + n + " kind " + kind + " k " + k);
          rows++;
        }
      }
      float[] nan = new float[n];
      int at = rnd.nextInt(n);
      nan[at] = Float.NaN;
      EngineException e = assertThrows(EngineException.class, () -> Sampler.topK(nan, 1));
      assertTrue(e.getMessage().contains("(token " + at + ")"), e.getMessage());
    }
    assertTrue(rows > 100, "rows: " + rows);
  }

  /**
   * top_p over a whole row (its bins and, on the CPU kernels where they run, its bounded pass's
   * mass) draws the token of the reference, every token sorted (drawSorted): over LM-like peaked
   * rows, flat rows (a random model's), tied, masked and near-uniform ones, at temperatures 0.3 to
   * 1.5 and top_p 0.5 to 0.999.
   */
  @Test
  void topPDrawsTheTokenOfEveryTokenSorted() {
    Random rnd = new Random(9);
    int draws = 0;
    for (int n : new int[] {1, 7, 64, 4101, 32000, 151936}) {
      int keys = n > 40000 ? 2 : n > 5000 ? 4 : 10;
      for (String kind : new String[] {"peaked", "flat", "tied", "masked"}) {
        float[] l = row(rnd, n, kind);
        for (double t : new double[] {0.3, 0.7, 1.0, 1.5}) {
          for (double p : new double[] {0.5, 0.9, 0.95, 0.999}) {
            Sampler s = new Sampler(params(t, p, 0, 1), 0);
            long[] all = Sampler.sortedAll(l);
            for (int k = 0; k < keys; k++) {
              long key = rnd.nextLong();
              assertEquals(s.drawSorted(l, all, 1 / t, key), s.drawNucleus(l, 1 / t, key),
                  "n " + n + " kind " + kind + " T " + t + " top_p " + p + " key " + key);
              draws++;
            }
          }
        }
      }
    }
    assertTrue(draws > 2000, "draws: " + draws);
  }

  /**
   * The Gumbel-max over a sorted prefix (top_k's and top_p's last step), passing over the tokens
   * that cannot win, draws the token of scoring every one: over peaked, flat, tied, masked and
   * infinite rows, prefixes from one token to the whole row, temperatures 0.05 to 2.
   */
  @Test
  void aPrefixDrawIsTheTokenOfScoringEveryToken() {
    Random rnd = new Random(17);
    int draws = 0;
    for (int n : new int[] {1, 6, 300, 20000}) {
      for (String kind : KINDS) {
        float[] l = row(rnd, n, kind);
        long[] order = Sampler.sortedAll(l);
        for (int keep : new int[] {1, 2, n / 10 + 1, n}) {
          for (double t : new double[] {0.05, 0.7, 2.0}) {
            for (int k = 0; k < 5; k++) {
              long key = rnd.nextLong();
              assertEquals(Sampler.drawPrefixLoop(l, order, Math.min(keep, n), 1 / t, key),
                  Sampler.drawPrefix(l, order, Math.min(keep, n), 1 / t, key),
                  "n " + n + " kind " + kind + " keep " + keep + " T " + t + " key " + key);
              draws++;
            }
          }
        }
      }
    }
    assertEquals(4 * KINDS.length * 4 * 3 * 5, draws);
  }

  /** The kinds of logit row {@link #row} writes. */
  private static final String[] KINDS = {"peaked", "flat", "tied", "masked", "infinite",
      "ascending"};

  /**
   * A logit row of n of a kind: peaked (a head of 20 near 12 over a broad N(0, 2.5²) tail, as an
   * LM's), flat (N(0, 1e-3²), a random model's), tied (halves, −0 beside +0), masked (N(0, 3²)
   * with about a third −∞), infinite (a broad tail with two +∞), ascending (each logit the largest
   * yet).
   */
  private static float[] row(Random rnd, int n, String kind) {
    float[] l = new float[n];
    for (int i = 0; i < n; i++) {
      double g = rnd.nextGaussian();
      l[i] = (float) switch (kind) {
        case "flat" -> g * 1e-3;
        case "tied" -> Math.round(g * 2) / 2.0;
        case "masked" -> g * 3;
        case "ascending" -> i;
        default -> g * 2.5;
      };
    }
    switch (kind) {
      case "peaked" -> {
        for (int j = 0; j < 20; j++) {
          l[rnd.nextInt(n)] = (float) (12 + rnd.nextGaussian() * 2);
        }
      }
      case "tied" -> {
        l[rnd.nextInt(n)] = -0f;
        l[rnd.nextInt(n)] = 0f;
      }
      case "masked" -> {
        for (int j = 0; j < n / 2; j++) {
          l[rnd.nextInt(n)] = Float.NEGATIVE_INFINITY;
        }
      }
      case "infinite" -> {
        l[n / 3] = Float.POSITIVE_INFINITY;
        l[n - 1] = Float.POSITIVE_INFINITY;
      }
      default -> { }
    }
    return l;
  }

  @Test
  void paramsAreValidated() {
    assertThrows(IllegalArgumentException.class, () -> params(-0.1, 1, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> params(1, 0, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> params(1, 1, -1, 0));
    assertThrows(IllegalArgumentException.class,
        () -> new SamplingParams(1, 1, 0, 0, 1, 0, List.of(), false, 0, 0));
    assertThrows(IllegalArgumentException.class,
        () -> new SamplingParams(1, 1, 0, 1, 0, 0, List.of(), false, 0, 0));
    assertThrows(IllegalArgumentException.class,
        () -> new SamplingParams(1, 1, 0, 1, 1, 0, List.of("a", "b", "c", "d", "e"), false, 0, 0));
  }
}
