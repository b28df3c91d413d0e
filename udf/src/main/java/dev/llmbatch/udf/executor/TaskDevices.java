package dev.llmbatch.udf.executor;

import dev.llmbatch.udf.UdfException;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * Resolves a handle's device against what Spark assigned to the running task: with
 * {@code spark.task.resource.gpu.amount} set, each task carries GPU addresses (several tasks may
 * share one address with fractional amounts), and those tasks share that GPU's model.
 */
public final class TaskDevices {
  private TaskDevices() {}

  /** The GPU addresses Spark assigned to the current task (empty outside a task or without GPUs). */
  public static String[] assignedGpus() {
    TaskContext tc = TaskContext.get();
    if (tc == null) {
      return new String[0];
    }
    Map<String, ResourceInformation> res = tc.resourcesJMap();
    ResourceInformation gpu = res == null ? null : res.get("gpu");
    return gpu == null ? new String[0] : gpu.addresses();
  }

  /**
   * The concrete device: {@code cpu} or {@code gpu:N}.
   *
   * @param requested {@code auto}, {@code cpu}, {@code gpu} or {@code gpu:N}/{@code cuda:N}
   * @param assigned the task's GPU addresses
   */
  public static String resolve(String requested, String[] assigned) {
    return switch (requested) {
      case "cpu" -> "cpu";
      case "auto" -> assigned.length == 0 ? "cpu" : "gpu:" + address(assigned[0]);
      case "gpu" -> {
        if (assigned.length == 0) {
          throw new UdfException("Cannot place the model on a GPU: Spark assigned no gpu resource"
              + " to this task; set spark.executor.resource.gpu.amount, spark.task.resource.gpu.amount"
              + " and a discovery script (conf/gpu-discovery.sh), or use device=auto");
        }
        yield "gpu:" + address(assigned[0]);
      }
      default -> "gpu:" + address(requested.substring(requested.indexOf(':') + 1));
    };
  }

  private static int address(String a) {
    try {
      return Integer.parseInt(a.trim());
    } catch (NumberFormatException e) {
      throw new UdfException("Invalid GPU address " + a + ": expected a device ordinal such as 0;"
          + " make the discovery script print ordinals (nvidia-smi --query-gpu=index)");
    }
  }
}
