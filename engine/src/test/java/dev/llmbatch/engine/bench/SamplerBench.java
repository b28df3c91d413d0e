package dev.llmbatch.engine.bench;

import dev.llmbatch.engine.generate.Sampler;
import dev.llmbatch.engine.generate.SamplingParams;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The sampler's cost a drawn token (a program, not a test): milliseconds a draw over vocabularies
 * of 32k, 128k and 152k tokens (Llama 2, Llama 3, Qwen) for greedy, temperature, top_k and top_p
 * draws at temperatures 0.6 and 1.0. Each row of a decode step is one draw on the engine's thread,
 * so at 32 rows a few milliseconds a draw is a step's worth. The logits are a peaked head of 20
 * tokens over a broad tail, as an LM's next-token logits are; medians of 200 draws after 50. Run:
 * {@code submit-scripts/bench sampler}.
 */
public final class SamplerBench {
  private SamplerBench() {}

  public static void main(String[] args) {
    System.out.printf("machine: %d cores available, Java %s%n",
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));
    for (int vocab : new int[] {32_000, 128_256, 151_936}) {
      float[] logits = peaked(vocab, new SplittableRandom(vocab));
      System.out.printf("%nvocabulary %d:%n", vocab);
      report("greedy", new SamplingParams(0, 1, 0, 16, 1, 1, List.of(), false, 0, 0), logits);
      for (double t : new double[] {0.6, 1.0}) {
        report(String.format("T %.1f", t),
            new SamplingParams(t, 1, 0, 16, 1, 1, List.of(), false, 0, 0), logits);
        report(String.format("T %.1f top_k 20", t),
            new SamplingParams(t, 1, 20, 16, 1, 1, List.of(), false, 0, 0), logits);
        for (double p : new double[] {0.9, 0.95}) {
          report(String.format("T %.1f top_p %.2f", t, p),
              new SamplingParams(t, p, 0, 16, 1, 1, List.of(), false, 0, 0), logits);
        }
      }
    }
  }

  /** A tail N(0, 2.5²) and 20 tokens near 12: most of the mass on a few tokens. */
  private static float[] peaked(int vocab, SplittableRandom r) {
    float[] l = new float[vocab];
    for (int i = 0; i < vocab; i++) {
      l[i] = (float) (nextGaussian(r) * 2.5);
    }
    for (int i = 0; i < 20; i++) {
      l[r.nextInt(vocab)] = (float) (12 + nextGaussian(r) * 2);
    }
    return l;
  }

  private static double nextGaussian(SplittableRandom r) {
    double u = 1 - r.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.nextDouble());
  }

  private static void report(String what, SamplingParams params, float[] logits) {
    Sampler s = new Sampler(params, 0);
    int sink = 0;
    for (int i = 0; i < 50; i++) {
      sink += s.sample(logits, Map.of());
    }
    double[] ms = new double[200];
    for (int i = 0; i < ms.length; i++) {
      long t0 = System.nanoTime();
      sink += s.sample(logits, Map.of());
      ms[i] = (System.nanoTime() - t0) / 1e6;
    }
    Arrays.sort(ms);
    System.out.printf("  %-17s %7.3f ms a draw (p90 %.3f)%s%n", what, ms[ms.length / 2],
        ms[ms.length * 9 / 10], sink == 42 ? " " : "");
  }
}
