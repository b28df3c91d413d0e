package dev.llmbatch.udf.executor;

import dev.llmbatch.engine.embed.EmbeddingScheduler;
import dev.llmbatch.engine.runtime.TorchRuntime;
import dev.llmbatch.engine.serve.DevicePlacement;
import dev.llmbatch.engine.serve.LoadedModel;
import dev.llmbatch.engine.serve.ServeOptions;
import dev.llmbatch.udf.LlmBatchOptions;
import dev.llmbatch.udf.ModelHandle;
import dev.llmbatch.udf.UdfException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The executor's model registry: one {@link ModelService} per (location, device, dtype) per JVM,
 * shared by all task threads, loaded on first use and closed at JVM shutdown. Weights are never
 * broadcast: each executor copies remote files once into its host's cache and memory-maps them.
 */
public final class ExecutorModels {
  private static final Logger LOG = LoggerFactory.getLogger(ExecutorModels.class);
  private static final KeyedRegistry<ModelKey, ModelService> REGISTRY = new KeyedRegistry<>();
  private static final Set<List<Object>> WARNED = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(REGISTRY::closeAll, "llm-batch-release-models"));
  }

  private ExecutorModels() {}

  /** A model service and whether this call loaded it (for the load metrics). */
  public record Acquired(ModelService service, boolean loadedNow) {}

  /** The model of {@code handle} on the device of the current task, loading it on first use. */
  public static Acquired acquire(ModelHandle handle) {
    String device = TaskDevices.resolve(handle.device(), TaskDevices.assignedGpus());
    ModelKey key = new ModelKey(handle.location(), device, handle.dtype());
    KeyedRegistry.Got<ModelService> got = REGISTRY.get(key, k -> load(handle, k));
    if (!got.built() && !got.value().options().equals(handle.options())
        && WARNED.add(List.of(key, handle.options()))) {
      LOG.warn("Model {} is already loaded on {} with options {}; this handle's options {} do not"
          + " apply (options are read once per location, device and dtype per executor)",
          key.location(), key.device(), got.value().options(), handle.options());
    }
    return new Acquired(got.value(), got.built());
  }

  /** How many times this JVM loaded the model of {@code key}. */
  public static int loads(ModelKey key) {
    return REGISTRY.builds(key);
  }

  /** How many model loads this JVM did in all. */
  public static int totalLoads() {
    return REGISTRY.totalBuilds();
  }

  /** The loaded model of {@code key} in this JVM, if any (for tests and diagnostics). */
  public static java.util.Optional<ModelService> loaded(ModelKey key) {
    return REGISTRY.peek(key);
  }

  /** The keys of the models loaded in this JVM. */
  public static java.util.List<ModelKey> loadedKeys() {
    return REGISTRY.keys();
  }

  /** Closes every loaded model (the next use loads again). */
  public static void releaseAll() {
    REGISTRY.closeAll();
  }

  private static ModelService load(ModelHandle handle, ModelKey key) {
    long t0 = System.nanoTime();
    SparkConf conf = SparkEnv.get() == null ? new SparkConf(false) : SparkEnv.get().conf();
    LocalModelCache cache = new LocalModelCache(cacheDir(handle, conf), hadoopConf(conf));
    Path dir = cache.materialize(handle.location(), handle.boolOption(LlmBatchOptions.COPY_LOCAL, false));
    String placeOn = placement(handle, key.device(), conf);
    ServeOptions options = serveOptions(handle, placeOn, conf);
    try {
      LoadedModel model = LoadedModel.load(dir, options);
      LOG.info("Loaded model {} on {}{} computing in {}, {} ms (executor {})",
          handle.location(), placeOn, key.device().equals(placeOn) ? "" : " (for " + key.device()
              + ")", model.dtype(), (System.nanoTime() - t0) / 1_000_000,
          SparkEnv.get() == null ? "-" : SparkEnv.get().executorId());
      return new ModelService(key, model, placeOn, handle.options());
    } catch (RuntimeException e) {
      throw new UdfException("Cannot load model " + handle.location() + " (local copy " + dir
          + ") on " + key.device() + ": " + e.getMessage(), e);
    }
  }

  /**
   * The device to load on: the key's, except that with {@code cpuFallback=true} a GPU this
   * executor's libtorch cannot use (the CPU-only build, or too few GPUs) becomes {@code cpu},
   * with a warning. The key keeps the assigned GPU, so the tasks sharing it still share one
   * model.
   */
  static String placement(ModelHandle h, String device, SparkConf conf) {
    if (!DevicePlacement.isGpu(device) || !h.boolOption(LlmBatchOptions.CPU_FALLBACK, false)) {
      return device;
    }
    int ordinal = Integer.parseInt(device.substring(device.indexOf(':') + 1));
    int gpus = DevicePlacement.visibleGpus(serveOptions(h, "cpu", conf).threads());
    if (ordinal < gpus) {
      return device;
    }
    LOG.warn("Spark assigned {} to this task but {}; loading on cpu because {}=true", device,
        TorchRuntime.whyNoGpu(gpus), LlmBatchOptions.CPU_FALLBACK);
    return "cpu";
  }

  /** The engine options of a handle on a concrete device. */
  static ServeOptions serveOptions(ModelHandle h, String device, SparkConf conf) {
    ServeOptions d = ServeOptions.DEFAULTS;
    int threads = h.intOption(LlmBatchOptions.THREADS, 0);
    if (threads == 0 && device.equals("cpu")) {
      // One shared model per executor: let its one scheduler use every core of the executor.
      threads = conf.getInt("spark.executor.cores", Runtime.getRuntime().availableProcessors());
    }
    long kvBytes = h.options().containsKey("kvCacheBytes")
        ? Long.parseLong(h.options().get("kvCacheBytes").trim()) : d.kvCacheBytes();
    return new ServeOptions(device, threads,
        h.intOption("maxSequences", d.maxSequences()),
        h.intOption("maxBatchTokens", d.maxBatchTokens()),
        kvBytes,
        h.intOption("maxModelLen", d.maxModelLen()),
        h.intOption("queueCapacity", d.queueCapacity()),
        d.jobDefaults(),
        h.options().get(LlmBatchOptions.SERVED_MODEL_NAME),
        0L,
        h.dtype(),
        new EmbeddingScheduler.Batching(h.intOption(LlmBatchOptions.EMBED_BATCH_ROWS, 1),
            h.intOption(LlmBatchOptions.EMBED_BATCH_WAIT_MS, 0)));
  }

  private static Path cacheDir(ModelHandle h, SparkConf conf) {
    String dir = h.options().get(LlmBatchOptions.CACHE_DIR);
    if (dir == null) {
      dir = conf.get(LlmBatchOptions.CACHE_DIR_CONF, null);
    }
    return dir != null ? Paths.get(dir)
        : Paths.get(System.getProperty("java.io.tmpdir"), LlmBatchOptions.CACHE_DIR_DEFAULT_NAME);
  }

  /** Hadoop settings from the {@code spark.hadoop.*} keys, as Spark itself builds them. */
  static Configuration hadoopConf(SparkConf conf) {
    Configuration hc = new Configuration();
    for (Tuple2<String, String> kv : conf.getAll()) {
      if (kv._1().startsWith("spark.hadoop.")) {
        hc.set(kv._1().substring("spark.hadoop.".length()), kv._2());
      }
    }
    return hc;
  }

}
