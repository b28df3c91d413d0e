package dev.llmbatch.engine.model.encoder;

/**
 * MPNet's bidirectional relative position buckets (T5-style): exact buckets for distances below
 * {@code numBuckets / 4}, logarithmic ones up to {@code maxDistance}, separate halves for keys
 * before and after the query.
 */
final class RelativePositionBias {
  static final int MAX_DISTANCE = 128;

  private RelativePositionBias() {}

  /** Bucket ids {@code (T, T)} row-major: row = query position i, column = key position j. */
  static long[] buckets(int t, int numBuckets) {
    long[] out = new long[t * t];
    for (int i = 0; i < t; i++) {
      for (int j = 0; j < t; j++) {
        out[i * t + j] = bucket(j - i, numBuckets, MAX_DISTANCE);
      }
    }
    return out;
  }

  /** The bucket of {@code relative = key - query}. */
  static int bucket(int relative, int numBuckets, int maxDistance) {
    int half = numBuckets / 2;
    int n = -relative;
    int ret = n < 0 ? half : 0;
    n = Math.abs(n);
    int maxExact = half / 2;
    if (n < maxExact) {
      return ret + n;
    }
    // float32 arithmetic as in the reference, truncated toward zero like .to(torch.long)
    float scaled = (float) (Math.log((float) n / maxExact) / Math.log((float) maxDistance / maxExact))
        * (half - maxExact);
    int large = maxExact + (int) scaled;
    return ret + Math.min(large, half - 1);
  }
}
