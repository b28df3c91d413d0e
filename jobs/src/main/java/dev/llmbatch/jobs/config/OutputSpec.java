package dev.llmbatch.jobs.config;

import dev.llmbatch.jobs.JobException;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Where and how a job writes: a path or a catalog table, the format, partition columns, the save
 * mode, and whether to resume (append only the keys not yet written).
 */
public record OutputSpec(
    String path, String table, String format, List<String> partitionBy, String mode,
    boolean resume, String summary) {

  private static final Set<String> MODES = Set.of("errorifexists", "overwrite", "append", "ignore");

  public OutputSpec {
    if ((path == null) == (table == null)) {
      throw new JobException("Cannot write the output: give exactly one of --output <path> or"
          + " --output-table <name>" + (path != null ? " (both were given)" : ""));
    }
    format = format == null ? JobOptions.OUTPUT_FORMAT_DEFAULT : format.toLowerCase(Locale.ROOT);
    partitionBy = partitionBy == null ? List.of() : List.copyOf(partitionBy);
    String m = mode == null ? null : mode.toLowerCase(Locale.ROOT);
    if ("error".equals(m) || "default".equals(m)) {
      m = "errorifexists"; // Spark's own aliases
    }
    if (m != null && !MODES.contains(m)) {
      throw new JobException("Invalid --mode: " + mode + " (use one of " + MODES + ")");
    }
    if (resume && m != null && !m.equals("append")) {
      throw new JobException("Invalid --mode: " + mode + " with --resume (resume appends the"
          + " missing keys to the existing output; drop --mode or use --mode append)");
    }
    mode = resume ? "append" : (m == null ? JobOptions.MODE_DEFAULT : m);
  }

  /** A short name for logs and the summary: the path or {@code table:<name>}. */
  public String describe() {
    return path != null ? path : "table:" + table;
  }
}
