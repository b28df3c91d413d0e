package dev.llmbatch.udf.executor;

/**
 * What makes two loaded models the same in one executor JVM: the location, the concrete device
 * (after resolving {@code auto} against the task's GPUs) and the dtype.
 */
public record ModelKey(String location, String device, String dtype)
    implements java.io.Serializable {
  public ModelKey {
    if (location == null || device == null || dtype == null) {
      throw new IllegalArgumentException("A model key needs location, device and dtype");
    }
  }
}
