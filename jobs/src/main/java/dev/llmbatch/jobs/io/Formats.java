package dev.llmbatch.jobs.io;

import dev.llmbatch.jobs.JobException;
import java.util.List;
import java.util.Locale;

/** The table formats jobs read and write, and the optional ones that need a jar on the classpath. */
public final class Formats {
  /** Formats every Spark build has. */
  public static final List<String> BUILT_IN = List.of("parquet", "json", "csv", "orc", "text");
  /** Delta Lake's data source, when {@code io.delta:delta-spark} is on the classpath. */
  public static final String DELTA = "delta";
  private static final String DELTA_CLASS = "io.delta.sql.DeltaSparkSessionExtension";

  private Formats() {}

  /** Validates {@code format} (aliases: jsonl and ndjson mean json), failing with the list. */
  public static String check(String format, String option) {
    String f = format.toLowerCase(Locale.ROOT);
    if (f.equals("jsonl") || f.equals("ndjson")) {
      f = "json";
    }
    if (BUILT_IN.contains(f)) {
      return f;
    }
    if (f.equals(DELTA)) {
      if (!deltaAvailable()) {
        throw new JobException("Cannot use format delta for " + option + ": Delta Lake is not on"
            + " the classpath (add --packages io.delta:delta-spark_2.13:4.3.1 to spark-submit, or"
            + " its jar with --jars)");
      }
      return f;
    }
    throw new JobException("Invalid " + option + ": " + format + " (use one of " + BUILT_IN
        + " or delta)");
  }

  /** Infers a format from a file or folder name; null when the name says nothing. */
  public static String fromName(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    for (String suffix : List.of(".gz", ".snappy", ".zst", ".bz2")) {
      if (n.endsWith(suffix)) {
        n = n.substring(0, n.length() - suffix.length());
      }
    }
    if (n.endsWith(".parquet")) {
      return "parquet";
    }
    if (n.endsWith(".jsonl") || n.endsWith(".json") || n.endsWith(".ndjson")) {
      return "json";
    }
    if (n.endsWith(".csv")) {
      return "csv";
    }
    if (n.endsWith(".orc")) {
      return "orc";
    }
    if (n.endsWith(".txt")) {
      return "text";
    }
    return null;
  }

  static boolean deltaAvailable() {
    try {
      Class.forName(DELTA_CLASS, false, Thread.currentThread().getContextClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }
}
