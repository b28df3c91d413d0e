package dev.llmbatch.udf;

/**
 * Option names of the Spark side, each with its default, in one place. Model options live in
 * {@link ModelHandle#options()}; Spark-conf keys start with {@code spark.llmbatch.}.
 */
public final class LlmBatchOptions {
  private LlmBatchOptions() {}

  /** Rows a task keeps in flight in the engine at once: back-pressure per task. */
  public static final String WINDOW = "window";
  public static final int WINDOW_DEFAULT = 64;

  /** Executor-local folder where remote model files are copied once per host. */
  public static final String CACHE_DIR = "cacheDir";
  /** Spark conf key for the cache folder (read on executors when the handle has none). */
  public static final String CACHE_DIR_CONF = "spark.llmbatch.cacheDir";
  /** Default: {@code <java.io.tmpdir>/llm-batch-models}, shared by the executors of one host. */
  public static final String CACHE_DIR_DEFAULT_NAME = "llm-batch-models";

  /** Copy {@code file:} models into the cache too (for slow network mounts). Default false. */
  public static final String COPY_LOCAL = "copyLocal";

  /** Intra-op threads for CPU inference; 0 = one per task slot of the executor. */
  public static final String THREADS = "threads";

  /** Name written into {@code response.model}; default: the model folder's name. */
  public static final String SERVED_MODEL_NAME = "servedModelName";

  /**
   * With {@code true}, a task assigned a GPU that this executor's libtorch cannot use (the
   * CPU-only build, or fewer GPUs than the address) loads the model on CPU with a warning instead
   * of failing. Tasks sharing the GPU address still share that one model. Default false: a GPU
   * cluster without a CUDA libtorch fails fast with what to install.
   */
  public static final String CPU_FALLBACK = "cpuFallback";

  /**
   * Embeddings: inputs one scheduler round waits for before its forwards (dynamic batching, as
   * Triton's preferred batch size); default 1 = run what is queued at once.
   */
  public static final String EMBED_BATCH_ROWS = "embedBatchRows";
  /** Embeddings: the longest a round waits for {@link #EMBED_BATCH_ROWS} inputs; default 0. */
  public static final String EMBED_BATCH_WAIT_MS = "embedBatchWaitMs";
}
