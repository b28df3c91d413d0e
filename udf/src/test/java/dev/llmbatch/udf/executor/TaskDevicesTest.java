package dev.llmbatch.udf.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.udf.UdfException;
import org.junit.jupiter.api.Test;

class TaskDevicesTest {
  @Test
  void autoFollowsTheTasksGpu() {
    assertEquals("cpu", TaskDevices.resolve("auto", new String[0]));
    assertEquals("gpu:1", TaskDevices.resolve("auto", new String[] {"1"}));
    assertEquals("gpu:1", TaskDevices.resolve("gpu", new String[] {"1", "2"}));
    assertEquals("cpu", TaskDevices.resolve("cpu", new String[] {"0"}));
    assertEquals("gpu:3", TaskDevices.resolve("gpu:3", new String[0]));
    assertEquals(0, TaskDevices.assignedGpus().length, "outside a task there are no GPUs");
  }

  @Test
  void gpuWithoutAnAssignmentSaysWhatToSet() {
    UdfException e = assertThrows(UdfException.class, () -> TaskDevices.resolve("gpu", new String[0]));
    assertTrue(e.getMessage().contains("spark.task.resource.gpu.amount"), e.getMessage());
    assertThrows(UdfException.class, () -> TaskDevices.resolve("auto", new String[] {"GPU-abc"}));
  }
}
