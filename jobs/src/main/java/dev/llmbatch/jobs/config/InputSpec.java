package dev.llmbatch.jobs.config;

import dev.llmbatch.jobs.JobException;

/** Where a job reads: a path (with a format, inferred when null) or a catalog table. */
public record InputSpec(String path, String table, String format) {
  public InputSpec {
    if ((path == null) == (table == null)) {
      throw new JobException("Cannot read the input: give exactly one of --input <path> or"
          + " --input-table <name>" + (path != null ? " (both were given)" : ""));
    }
    if (table != null && format != null) {
      throw new JobException("Invalid --input-format: " + format
          + " (a catalog table has its own format; drop --input-format or use --input)");
    }
  }
}
