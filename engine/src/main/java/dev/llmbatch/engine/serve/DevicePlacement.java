package dev.llmbatch.engine.serve;

import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.runtime.TorchRuntime;
import java.util.Locale;

/**
 * Whether a model can be placed on a device in this JVM, checked before any file is read so that
 * a GPU request on a host without a usable GPU fails at once with what to do about it.
 */
public final class DevicePlacement {
  private DevicePlacement() {}

  /** Whether {@code device} names a GPU ({@code gpu}, {@code gpu:N}, {@code cuda:N}). */
  public static boolean isGpu(String device) {
    String d = device == null ? "cpu" : device.trim().toLowerCase(Locale.ROOT);
    return d.startsWith("gpu") || d.startsWith("cuda");
  }

  /**
   * GPUs this JVM's libtorch can use: 0 with the CPU-only build. Starts the engine with
   * {@code threads} intra-op threads if it is not running yet.
   */
  public static int visibleGpus(int threads) {
    Engine e = TorchRuntime.engine(threads);
    return e.hasCapability(StandardCapabilities.CUDA) ? e.getGpuCount() : 0;
  }

  /**
   * Checks that {@code device} can hold a model here.
   *
   * @throws EngineException "Cannot place the model on gpu:N: ..." naming the fix
   */
  public static void check(String device, int threads) {
    if (!isGpu(device)) {
      return;
    }
    String d = device.trim().toLowerCase(Locale.ROOT);
    int ordinal = d.indexOf(':') < 0 ? 0 : Integer.parseInt(d.substring(d.indexOf(':') + 1));
    Engine e = TorchRuntime.engine(threads);
    if (!e.hasCapability(StandardCapabilities.CUDA)) {
      throw new EngineException("Cannot place the model on " + d + ": this libtorch ("
          + e.getEngineName() + " " + e.getVersion() + ") is CPU-only; set PYTORCH_LIBRARY_PATH"
          + " on the executors to a CUDA libtorch 2.7.1 (cu128, with DJL's pytorch-jni"
          + " 2.7.1-0.36.0), or use device=cpu");
    }
    int gpus = e.getGpuCount();
    if (ordinal >= gpus) {
      throw new EngineException("Cannot place the model on " + d + ": libtorch sees " + gpus
          + " GPU(s) in this JVM; check the GPU discovery script's addresses and"
          + " CUDA_VISIBLE_DEVICES, or use device=auto");
    }
  }
}
