package dev.llmbatch.engine.serve;

import dev.llmbatch.engine.api.RequestParams;

/**
 * How to load and serve a model in this JVM.
 *
 * @param device {@code cpu}, {@code gpu} or {@code gpu:N}
 * @param threads intra-op threads for libtorch (0 = libtorch's default)
 * @param maxSequences most sequences decoded together (KV-cache slots)
 * @param maxBatchTokens token budget of one forward step (decode tokens + prefill chunks)
 * @param kvCacheBytes KV-cache memory budget; with the model's bytes per token it bounds
 *     slots × context
 * @param maxModelLen context limit in tokens (0 = the model's max_position_embeddings)
 * @param queueCapacity most requests accepted but not finished (back-pressure beyond it)
 * @param jobDefaults job-level generation defaults (below the request, above the model's)
 * @param servedModelName the {@code model} field of responses ({@code null} = from MLmodel)
 * @param created the {@code created} field of responses: the job's start, epoch seconds
 */
public record ServeOptions(
    String device,
    int threads,
    int maxSequences,
    int maxBatchTokens,
    long kvCacheBytes,
    int maxModelLen,
    int queueCapacity,
    RequestParams jobDefaults,
    String servedModelName,
    long created) {

  /** Defaults for a CPU job: 16 sequences, 512-token steps, 1 GiB of KV cache. */
  public static final ServeOptions DEFAULTS = new ServeOptions("cpu", 0, 16, 512, 1L << 30, 0,
      1024, RequestParams.NONE, null, 0L);

  public ServeOptions {
    if (maxSequences < 1 || maxBatchTokens < 1 || kvCacheBytes < 1 || maxModelLen < 0
        || queueCapacity < 1 || threads < 0 || created < 0) {
      throw new IllegalArgumentException("Invalid serve options: maxSequences=" + maxSequences
          + ", maxBatchTokens=" + maxBatchTokens + ", kvCacheBytes=" + kvCacheBytes
          + ", maxModelLen=" + maxModelLen + ", queueCapacity=" + queueCapacity
          + ", threads=" + threads + ", created=" + created + " (all must be positive)");
    }
    device = device == null ? "cpu" : device;
    jobDefaults = jobDefaults == null ? RequestParams.NONE : jobDefaults;
  }

  /** A copy with these job defaults. */
  public ServeOptions withJobDefaults(RequestParams p) {
    return new ServeOptions(device, threads, maxSequences, maxBatchTokens, kvCacheBytes,
        maxModelLen, queueCapacity, p, servedModelName, created);
  }

  /** A copy with this device and thread count. */
  public ServeOptions withDevice(String d, int t) {
    return new ServeOptions(d, t, maxSequences, maxBatchTokens, kvCacheBytes, maxModelLen,
        queueCapacity, jobDefaults, servedModelName, created);
  }

  /** A copy with these batching limits. */
  public ServeOptions withBatching(int sequences, int batchTokens, long kvBytes) {
    return new ServeOptions(device, threads, sequences, batchTokens, kvBytes, maxModelLen,
        queueCapacity, jobDefaults, servedModelName, created);
  }

  /** A copy with this {@code created} time. */
  public ServeOptions withCreated(long epochSeconds) {
    return new ServeOptions(device, threads, maxSequences, maxBatchTokens, kvCacheBytes,
        maxModelLen, queueCapacity, jobDefaults, servedModelName, epochSeconds);
  }
}
