package dev.llmbatch.engine.serve;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.api.RequestParams;
import dev.llmbatch.engine.embed.EmbeddingScheduler;
import dev.llmbatch.engine.runtime.ComputeDtype;
import java.util.Locale;

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
 * @param dtype what to compute in: {@code auto} (FP32 on CPU; on a GPU the logged
 *     {@code torch_dtype}: FP32 for {@code float32}, else FP16), {@code fp32} or {@code fp16}
 *     (GPU only: see {@link #computeDtype(String)})
 * @param embedBatching how long an embeddings round may wait to fill up (default: never)
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
    long created,
    String dtype,
    EmbeddingScheduler.Batching embedBatching) {

  /** Defaults for a CPU job: 16 sequences, 512-token steps, 1 GiB of KV cache, dtype auto. */
  public static final ServeOptions DEFAULTS = new ServeOptions("cpu", 0, 16, 512, 1L << 30, 0,
      1024, RequestParams.NONE, null, 0L, "auto", EmbeddingScheduler.Batching.NONE);

  /** Options with {@code dtype=auto}. */
  public ServeOptions(String device, int threads, int maxSequences, int maxBatchTokens,
      long kvCacheBytes, int maxModelLen, int queueCapacity, RequestParams jobDefaults,
      String servedModelName, long created) {
    this(device, threads, maxSequences, maxBatchTokens, kvCacheBytes, maxModelLen, queueCapacity,
        jobDefaults, servedModelName, created, "auto", EmbeddingScheduler.Batching.NONE);
  }

  public ServeOptions {
    if (maxSequences < 1 || maxBatchTokens < 1 || kvCacheBytes < 1 || maxModelLen < 0
        || queueCapacity < 1 || threads < 0 || created < 0) {
      throw new IllegalArgumentException("Invalid serve options: maxSequences=" + maxSequences
          + ", maxBatchTokens=" + maxBatchTokens + ", kvCacheBytes=" + kvCacheBytes
          + ", maxModelLen=" + maxModelLen + ", queueCapacity=" + queueCapacity
          + ", threads=" + threads + ", created=" + created + " (all must be positive)");
    }
    device = device == null ? "cpu" : device;
    dtype = dtype == null || dtype.isBlank() ? "auto" : dtype.trim().toLowerCase(Locale.ROOT);
    if (!dtype.matches("auto|fp32|fp16")) {
      throw new IllegalArgumentException("Invalid dtype: " + dtype + " (use auto, fp32 or fp16)");
    }
    embedBatching = embedBatching == null ? EmbeddingScheduler.Batching.NONE : embedBatching;
    jobDefaults = jobDefaults == null ? RequestParams.NONE : jobDefaults;
  }

  /** A copy with these job defaults. */
  public ServeOptions withJobDefaults(RequestParams p) {
    return new ServeOptions(device, threads, maxSequences, maxBatchTokens, kvCacheBytes,
        maxModelLen, queueCapacity, p, servedModelName, created, dtype, embedBatching);
  }

  /** A copy with this device and thread count. */
  public ServeOptions withDevice(String d, int t) {
    return new ServeOptions(d, t, maxSequences, maxBatchTokens, kvCacheBytes, maxModelLen,
        queueCapacity, jobDefaults, servedModelName, created, dtype, embedBatching);
  }

  /** A copy with these batching limits. */
  public ServeOptions withBatching(int sequences, int batchTokens, long kvBytes) {
    return new ServeOptions(device, threads, sequences, batchTokens, kvBytes, maxModelLen,
        queueCapacity, jobDefaults, servedModelName, created, dtype, embedBatching);
  }

  /** A copy with this {@code created} time. */
  public ServeOptions withCreated(long epochSeconds) {
    return new ServeOptions(device, threads, maxSequences, maxBatchTokens, kvCacheBytes,
        maxModelLen, queueCapacity, jobDefaults, servedModelName, epochSeconds, dtype,
        embedBatching);
  }

  /** A copy computing in {@code d}: {@code auto}, {@code fp32} or {@code fp16}. */
  public ServeOptions withDtype(String d) {
    return new ServeOptions(device, threads, maxSequences, maxBatchTokens, kvCacheBytes,
        maxModelLen, queueCapacity, jobDefaults, servedModelName, created, d, embedBatching);
  }

  /** A copy with this embeddings batching policy. */
  public ServeOptions withEmbedBatching(EmbeddingScheduler.Batching b) {
    return new ServeOptions(device, threads, maxSequences, maxBatchTokens, kvCacheBytes,
        maxModelLen, queueCapacity, jobDefaults, servedModelName, created, dtype, b);
  }

  /** Whether {@link #device()} is the CPU. */
  public boolean onCpu() {
    return device.trim().equalsIgnoreCase("cpu");
  }

  /**
   * The dtype to compute in on {@link #device()}, given the model's logged {@code torch_dtype}
   * ({@code torch.bfloat16}, {@code float16}, ...; null when not recorded). On CPU: FP32, and an
   * explicit {@code fp16} is refused (libtorch's FP16 matmul on CPU is unusably slow, and a
   * silent fall-back would hide that the option did nothing). On a GPU, {@code auto} keeps a
   * {@code float32} checkpoint in FP32 and computes everything else (bf16, fp16, unrecorded) in
   * FP16, DJL's JNI having no BF16.
   */
  public ComputeDtype computeDtype(String torchDtype) {
    if (onCpu()) {
      if (dtype.equals("fp16")) {
        throw new EngineException("Cannot compute in fp16 on cpu: dtype=fp16 needs a GPU device;"
            + " on CPU llm-batch computes in FP32 (libtorch's FP16 matmul on CPU is unusably"
            + " slow): use dtype=auto or fp32");
      }
      return ComputeDtype.FP32;
    }
    return switch (dtype) {
      case "fp32" -> ComputeDtype.FP32;
      case "fp16" -> ComputeDtype.FP16;
      default -> torchDtype != null && torchDtype.trim().toLowerCase(Locale.ROOT)
          .replace("torch.", "").equals("float32") ? ComputeDtype.FP32 : ComputeDtype.FP16;
    };
  }
}
