package dev.llmbatch.engine.serve;

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
    TorchRuntime.engine(threads);
    return TorchRuntime.usableGpus();
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
    int gpus = visibleGpus(threads);
    if (ordinal >= gpus) {
      throw new EngineException("Cannot place the model on " + d + ": "
          + TorchRuntime.whyNoGpu(gpus) + (gpus == 0 ? "; or use device=cpu" : ""));
    }
  }
}
