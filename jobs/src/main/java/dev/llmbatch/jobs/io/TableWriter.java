package dev.llmbatch.jobs.io;

import dev.llmbatch.jobs.JobException;
import dev.llmbatch.jobs.config.OutputSpec;
import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;

/**
 * Writes a job's output through Spark's file commit protocol: each task writes into its attempt's
 * temporary folder and only committed attempts are moved into place at job commit, so a failed or
 * retried task leaves neither partial nor duplicate files. Appended files get names unique to the
 * write job, so a resumed run never clobbers what an earlier run wrote.
 */
public final class TableWriter {
  private TableWriter() {}

  /** Writes {@code rows} (this runs the job). */
  public static void write(Dataset<Row> rows, OutputSpec out) {
    String format = Formats.check(out.format(), "--output-format");
    for (String col : out.partitionBy()) {
      if (!java.util.Arrays.asList(rows.columns()).contains(col)) {
        throw new JobException("Cannot partition the output by " + col + ": no such column"
            + " (columns: " + String.join(", ", rows.columns()) + ")");
      }
    }
    DataFrameWriter<Row> w = rows.write().format(format).mode(mode(out.mode()));
    if (format.equals("json")) {
      w = w.option("ignoreNullFields", "false"); // "error": null, as OpenAI writes it
    }
    if (format.equals("csv")) {
      w = w.option("header", "true");
    }
    if (!out.partitionBy().isEmpty()) {
      w = w.partitionBy(out.partitionBy().toArray(new String[0]));
    }
    try {
      if (out.table() != null) {
        w.saveAsTable(out.table());
      } else {
        w.save(out.path());
      }
    } catch (Exception e) { // AnalysisException is checked in Java's eyes, thrown from Scala
      if (e.getMessage() != null && e.getMessage().contains("PATH_ALREADY_EXISTS")
          || e.getMessage() != null && e.getMessage().contains("already exists")) {
        throw new JobException("Cannot write the output " + out.describe() + ": it already exists"
            + " (use --resume to add only the missing rows, --mode overwrite to replace it, or a new"
            + " --output)", e);
      }
      throw new JobException("Cannot write the output " + out.describe() + ": " + e.getMessage(),
          e);
    }
  }

  static SaveMode mode(String mode) {
    switch (mode) {
      case "overwrite":
        return SaveMode.Overwrite;
      case "append":
        return SaveMode.Append;
      case "ignore":
        return SaveMode.Ignore;
      case "errorifexists":
        return SaveMode.ErrorIfExists;
      default:
        throw new JobException("Invalid --mode: " + mode);
    }
  }
}
