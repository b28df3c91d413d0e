package dev.llmbatch.udf;

import java.io.Serializable;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What travels from the driver to executors to name a model: its resolved location and the
 * options it is loaded with. Small and serializable by design; the weights never travel (each
 * executor fetches and memory-maps them once, see {@code executor.ExecutorModels}).
 *
 * @param location a logged-model folder (the one holding {@code MLmodel}) as a Hadoop filesystem
 *     URI ({@code s3a://}, {@code hdfs://}, {@code abfss://}, {@code file:/}) or a local path;
 *     {@code runs:/} and {@code models:/} URIs are resolved on the driver before this is built
 * @param device {@code auto} (the task's Spark-assigned GPU, else CPU), {@code cpu}, {@code gpu}
 *     (the task's assigned GPU, required) or {@code gpu:N}
 * @param dtype {@code auto} (FP32 on CPU, the MLmodel's {@code torch_dtype} on GPU), {@code fp32}
 *     or {@code fp16}
 * @param options engine and cache options (see {@link LlmBatchOptions}); copied, sorted
 */
public record ModelHandle(String location, String device, String dtype, Map<String, String> options)
    implements Serializable {

  public ModelHandle {
    if (location == null || location.isBlank()) {
      throw new UdfException("Invalid model location: it is empty; pass the logged model folder URI");
    }
    location = location.trim();
    if (location.startsWith("runs:/") || location.startsWith("models:/")) {
      throw new UdfException("Invalid model location: " + location
          + " must be resolved on the driver to a storage URI (s3a://, hdfs://, file:/) first");
    }
    if (location.contains("://") || location.startsWith("file:")) {
      try {
        new URI(location);
      } catch (URISyntaxException e) {
        throw new UdfException("Invalid model location: " + location + " is not a URI: "
            + e.getMessage(), e);
      }
    }
    device = device == null || device.isBlank() ? "auto" : device.trim().toLowerCase(Locale.ROOT);
    if (!device.matches("auto|cpu|gpu|(gpu|cuda):\\d+")) {
      throw new UdfException("Invalid device: " + device + " (use auto, cpu, gpu or gpu:N)");
    }
    dtype = dtype == null || dtype.isBlank() ? "auto" : dtype.trim().toLowerCase(Locale.ROOT);
    if (!dtype.matches("auto|fp32|fp16")) {
      throw new UdfException("Invalid dtype: " + dtype + " (use auto, fp32 or fp16)");
    }
    options = options == null ? Map.of() : Map.copyOf(new TreeMap<>(options));
  }

  /** A handle with {@code device=auto}, {@code dtype=auto} and no options. */
  public static ModelHandle of(String location) {
    return new ModelHandle(location, "auto", "auto", Map.of());
  }

  /** This handle on another device. */
  public ModelHandle withDevice(String newDevice) {
    return new ModelHandle(location, newDevice, dtype, options);
  }

  /** This handle with another dtype. */
  public ModelHandle withDtype(String newDtype) {
    return new ModelHandle(location, device, newDtype, options);
  }

  /** This handle with one option added or replaced. */
  public ModelHandle withOption(String key, String value) {
    Map<String, String> m = new TreeMap<>(options);
    m.put(key, value);
    return new ModelHandle(location, device, dtype, m);
  }

  /** An option as an int, or {@code dflt} when absent. */
  public int intOption(String key, int dflt) {
    String v = options.get(key);
    if (v == null) {
      return dflt;
    }
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new UdfException("Invalid option " + key + "=" + v + ": expected an integer");
    }
  }

  /** An option as a boolean, or {@code dflt} when absent. */
  public boolean boolOption(String key, boolean dflt) {
    String v = options.get(key);
    return v == null ? dflt : Boolean.parseBoolean(v.trim());
  }
}
