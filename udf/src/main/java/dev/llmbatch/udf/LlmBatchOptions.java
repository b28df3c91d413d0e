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
}
