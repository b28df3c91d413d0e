package dev.llmbatch.engine.model;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.runtime.ComputeDtype;
import java.nio.file.Path;

/**
 * How to load a model.
 *
 * @param device {@code cpu}, {@code gpu} or {@code gpu:N}
 * @param dtype what to compute in (FP32 on CPU; FP16 only on a GPU)
 * @param threads libtorch intra-op threads; 0 = one per available core. Only the first engine start
 *     in a JVM sets it.
 * @param peftDir a PEFT LoRA adapter folder merged into the weights at load, or null
 */
public record LoadOptions(String device, ComputeDtype dtype, int threads, Path peftDir) {
  /** Options without an adapter. */
  public LoadOptions(String device, ComputeDtype dtype, int threads) {
    this(device, dtype, threads, null);
  }

  public LoadOptions {
    if (device == null || device.isBlank()) {
      device = "cpu";
    }
    if (dtype == null) {
      dtype = ComputeDtype.FP32;
    }
    if (threads < 0) {
      throw new EngineException("Invalid threads: " + threads + " (0 = one per core)");
    }
    if (dtype == ComputeDtype.FP16 && device.trim().equalsIgnoreCase("cpu")) {
      throw new EngineException("Cannot compute in FP16 on cpu: libtorch's CPU FP16 matmul is"
          + " unusably slow; use FP32 on CPU, FP16 on a GPU");
    }
  }

  /** FP32 on CPU with one thread per core. */
  public static LoadOptions cpu() {
    return new LoadOptions("cpu", ComputeDtype.FP32, 0);
  }

  /** These options with the LoRA adapter in {@code peftDir} (null for none) merged at load. */
  public LoadOptions withPeft(Path peftDir) {
    return new LoadOptions(device, dtype, threads, peftDir);
  }

  /** Threads to give libtorch: the option, or the available cores. */
  public int effectiveThreads() {
    return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
  }
}
