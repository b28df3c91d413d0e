package dev.llmbatch.engine.runtime;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.llmbatch.engine.EngineException;
import java.io.File;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts DJL's PyTorch engine once per JVM, offline: libtorch comes from the
 * {@code pytorch-native-cpu} jar on the classpath (or {@code PYTORCH_LIBRARY_PATH} on GPU hosts),
 * never from a download server.
 */
public final class TorchRuntime {
  private static final Logger LOG = LoggerFactory.getLogger(TorchRuntime.class);
  private static volatile Engine engine;

  private TorchRuntime() {}

  /**
   * The PyTorch engine, started on first call. {@code threads} &gt; 0 fixes the intra-op thread count
   * (it can only be set before the engine starts); 0 leaves libtorch's default.
   */
  public static Engine engine(int threads) {
    Engine e = engine;
    if (e != null) {
      return e;
    }
    synchronized (TorchRuntime.class) {
      if (engine == null) {
        if (System.getProperty("ai.djl.offline") == null) {
          System.setProperty("ai.djl.offline", "true");
        }
        if (threads > 0 && System.getProperty("ai.djl.pytorch.num_threads") == null) {
          System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
          System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
        String cudart = System.getProperty("jna.library.path") != null ? null
            : cudartFolder(System.getenv("PYTORCH_LIBRARY_PATH"));
        if (cudart != null) {
          System.setProperty("jna.library.path", cudart);
          LOG.info("jna.library.path={}: DJL counts GPUs through the libcudart there", cudart);
        }
        try {
          engine = Engine.getEngine("PyTorch");
        } catch (RuntimeException | UnsatisfiedLinkError | ExceptionInInitializerError ex) {
          throw new EngineException("Cannot start DJL's PyTorch engine: " + ex
              + ". On CPU the libtorch jar ai.djl.pytorch:pytorch-native-cpu:2.7.1"
              + " (classifier linux-x86_64) must be on the classpath; on GPU set"
              + " PYTORCH_LIBRARY_PATH to a CUDA libtorch 2.7.1 (or a CUDA PyTorch's lib folder"
              + " after submit-scripts/djl-jni-for-torch)", ex);
        }
        LOG.info("DJL {} engine {} started (offline={}, threads={})", engine.getEngineName(),
            engine.getVersion(), System.getProperty("ai.djl.offline"),
            System.getProperty("ai.djl.pytorch.num_threads", "default"));
        logMklDispatch();
        logMallocTunables();
      }
      return engine;
    }
  }

  /**
   * The intra-op thread count the engine runs with (set by {@link #engine(int)} or the
   * {@code ai.djl.pytorch.num_threads} property), at most the cores this JVM may use: the teams
   * of the engine's own parallel work (the CPU kernels, a step's draws) besides libtorch.
   */
  public static int threads() {
    String set = System.getProperty("ai.djl.pytorch.num_threads");
    int cores = Runtime.getRuntime().availableProcessors();
    try {
      return set == null ? cores : Math.max(1, Math.min(cores, Integer.parseInt(set.trim())));
    } catch (NumberFormatException e) {
      return cores;
    }
  }

  /**
   * Says once which oneMKL kernels libtorch's CPU matmuls get: on an AMD CPU, oneMKL takes its
   * AVX2 path unless submit-scripts/mkl-amd-shim.c is preloaded (about half the sgemm speed on
   * the AVX-512 EPYC we measure on; docs/benchmarks.md).
   */
  private static void logMklDispatch() {
    String preload = System.getenv("LD_PRELOAD");
    boolean shim = preload != null && preload.contains("mklamdshim");
    boolean amd;
    boolean avx512;
    try {
      List<String> cpu = NativeLibraries.firstCpu();
      amd = cpu.stream().anyMatch(l -> l.startsWith("vendor_id") && l.contains("AuthenticAMD"));
      avx512 = NativeLibraries.cpuHas(cpu, "avx512f");
    } catch (IOException | SecurityException e) {
      return; // not Linux: nothing to say
    }
    if (amd && shim) {
      LOG.info("oneMKL AMD shim preloaded: libtorch's CPU matmuls use oneMKL's Intel kernels ({})",
          avx512 ? "AVX-512" : "AVX2: this CPU has no AVX-512");
    } else if (amd && avx512) {
      LOG.info("AMD CPU without the oneMKL shim: libtorch's CPU matmuls run oneMKL's AVX2 kernels"
          + " (about half speed); start through submit-scripts/llm-batch, or preload"
          + " submit-scripts/mkl-amd-shim.c (README, \"CPU speed\")");
    }
  }

  /**
   * Says once whether glibc malloc keeps libtorch's temporaries mapped between ops. Under glibc's
   * defaults every forward page-faults its large activations back in (2.8x a whole MiniLM pass on
   * the VM we measure on; docs/benchmarks.md, "Page faults"); the launchers set GLIBC_TUNABLES
   * (submit-scripts/native-env.sh), which glibc reads only when a process starts.
   */
  private static void logMallocTunables() {
    if (!"Linux".equals(System.getProperty("os.name"))) {
      return;
    }
    String tunables = System.getenv("GLIBC_TUNABLES");
    if (tunables != null && tunables.contains("glibc.malloc.mmap_max=0")
        && tunables.contains("glibc.malloc.arena_max=1")) {
      LOG.info("glibc malloc keeps libtorch's temporaries mapped between ops (GLIBC_TUNABLES={});"
          + " ATEN_CPU_CAPABILITY={}; Java heap on transparent huge pages: {}", tunables,
          System.getenv().getOrDefault("ATEN_CPU_CAPABILITY", "unset (libtorch's choice)"),
          vmOption("UseTransparentHugePages"));
    } else {
      LOG.warn("glibc malloc runs with its defaults: libtorch's large temporaries go back to the"
          + " kernel after each op and every forward page-faults them in again (up to 2-3x"
          + " slower); start the JVM through submit-scripts/llm-batch, or with GLIBC_TUNABLES as"
          + " in submit-scripts/native-env.sh (on Spark: spark.executorEnv.GLIBC_TUNABLES;"
          + " README, \"CPU speed\")");
    }
  }

  /** A HotSpot flag's value, or "unknown" on a JVM that does not say. */
  private static String vmOption(String name) {
    try {
      return java.lang.management.ManagementFactory.getPlatformMXBean(
          com.sun.management.HotSpotDiagnosticMXBean.class).getVMOption(name).getValue();
    } catch (RuntimeException | LinkageError e) {
      return "unknown";
    }
  }

  /** The engine with libtorch's default threads. */
  public static Engine engine() {
    return engine(0);
  }

  /**
   * A float32 array of {@code into.length} rows copied into {@code into} (rows of any widths that
   * add up to its size), which is returned: one copy from a direct view of its data (DJL's {@code
   * toByteBuffer} first copies it into a fresh {@code byte[]}: for a decode step's logits, 32 ×
   * 32K floats, a 4 MB humongous allocation and a second pass per step). A GPU array is brought to
   * the CPU first.
   */
  public static float[][] floatRows(NDArray a, float[][] into) {
    long size = 0;
    for (float[] row : into) {
      size += row.length;
    }
    if (a.getDataType() != DataType.FLOAT32 || a.size() != size) {
      throw new IllegalArgumentException("expected " + size + " float32 for " + into.length
          + " rows, not " + a.getDataType() + " " + a.getShape());
    }
    FloatBuffer fb = NativeLibraries.buffer(a).asFloatBuffer();
    for (float[] row : into) {
      fb.get(row);
    }
    return into;
  }

  /**
   * Parses a device name: {@code cpu}, {@code gpu}, {@code gpu:N} or {@code cuda:N}. A GPU that
   * this engine cannot see is an error, never a silent fall-back to CPU.
   */
  public static Device device(String name) {
    String n = name == null ? "cpu" : name.trim().toLowerCase(java.util.Locale.ROOT);
    if (n.isEmpty() || n.equals("cpu")) {
      return Device.cpu();
    }
    int idx = 0;
    String kind = n;
    int colon = n.indexOf(':');
    if (colon >= 0) {
      kind = n.substring(0, colon);
      try {
        idx = Integer.parseInt(n.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new EngineException("Invalid device: " + name + " (use cpu, gpu or gpu:N)");
      }
    }
    if (!kind.equals("gpu") && !kind.equals("cuda")) {
      throw new EngineException("Invalid device: " + name + " (use cpu, gpu or gpu:N)");
    }
    int gpus = usableGpus();
    if (idx >= gpus) {
      throw new EngineException("Cannot use device " + name + ": " + whyNoGpu(gpus));
    }
    return Device.gpu(idx);
  }

  /**
   * GPUs the running engine can compute on: DJL's count where libtorch has CUDA, else 0 (DJL counts
   * through libcudart, which a host can have beside a CPU-only libtorch).
   */
  public static int usableGpus() {
    Engine e = engine();
    return e.hasCapability(StandardCapabilities.CUDA) ? e.getGpuCount() : 0;
  }

  /**
   * The folder of the CUDA runtime ({@code libcudart.so*}) that goes with the libtorch on
   * {@code pytorchLibraryPath} (entries separated by ':'), for JNA, through which DJL counts GPUs:
   * the entry itself, else, for a pip-installed PyTorch ({@code site-packages/torch/lib}), its
   * {@code site-packages/nvidia/}<i>package</i>{@code /lib} folders, which are not on the loader's
   * path (the CUDA toolkit's own libcudart is, and needs nothing). Null when there is none.
   */
  static String cudartFolder(String pytorchLibraryPath) {
    if (pytorchLibraryPath == null || pytorchLibraryPath.isBlank()) {
      return null;
    }
    for (String entry : pytorchLibraryPath.split(File.pathSeparator)) {
      if (entry.isBlank()) {
        continue;
      }
      Path lib = Path.of(entry.trim()).toAbsolutePath().normalize();
      List<Path> candidates = new ArrayList<>();
      candidates.add(lib);
      Path site = lib.getParent() == null ? null : lib.getParent().getParent();
      if (site != null && Files.isDirectory(site.resolve("nvidia"))) {
        try (Stream<Path> pkgs = Files.list(site.resolve("nvidia"))) {
          pkgs.sorted().forEach(p -> candidates.add(p.resolve("lib")));
        } catch (IOException e) {
          // unreadable: DJL then reports 0 GPUs, and whyNoGpu says what to set
        }
      }
      for (Path dir : candidates) {
        try (Stream<Path> files = Files.list(dir)) {
          if (files.anyMatch(f -> f.getFileName().toString().startsWith("libcudart.so"))) {
            return dir.toString();
          }
        } catch (IOException e) {
          // not a folder: the next candidate
        }
      }
    }
    return null;
  }

  /**
   * Why the engine counts only {@code gpus} GPUs, with what to do. DJL counts GPUs through
   * libcudart (loaded by JNA, apart from libtorch): one off the loader's path counts none unless
   * {@code jna.library.path} names its folder, which {@link #engine(int)} sets itself only where
   * {@link #cudartFolder} finds it.
   */
  public static String whyNoGpu(int gpus) {
    Engine e = engine();
    if (!e.hasCapability(StandardCapabilities.CUDA)) {
      return "this libtorch (" + e.getEngineName() + " " + e.getVersion() + ") is CPU-only; set"
          + " PYTORCH_LIBRARY_PATH to a CUDA libtorch 2.7.1 (cu128; DJL's JNI for it is in"
          + " pytorch-jni 2.7.1-0.36.0), or to a CUDA PyTorch's lib folder after"
          + " submit-scripts/djl-jni-for-torch (README, \"GPUs\")";
    }
    if (gpus == 0) {
      return "libtorch " + e.getVersion() + " has CUDA but DJL counted 0 GPUs: DJL counts them"
          + " through libcudart, which JNA did not find; if nvidia-smi lists GPUs, start the JVM"
          + " with -Djna.library.path=<folder of libcudart.so*> (LLM_BATCH_JAVA_OPTS; on Spark"
          + " spark.executor.extraJavaOptions)";
    }
    return "libtorch sees " + gpus + " GPU(s) in this JVM; check the GPU discovery script's"
        + " addresses and CUDA_VISIBLE_DEVICES, or use device=auto";
  }
}
