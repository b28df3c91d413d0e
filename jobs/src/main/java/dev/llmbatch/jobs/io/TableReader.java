package dev.llmbatch.jobs.io;

import dev.llmbatch.jobs.JobException;
import dev.llmbatch.jobs.config.InputSpec;
import java.io.IOException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Reads a job's input: a catalog table, or a path in a named or inferred format. CSV is read with a
 * header and every column a string (types are the job's business, not a guess from sampled rows).
 */
public final class TableReader {
  private TableReader() {}

  /** The input rows. */
  public static Dataset<Row> read(SparkSession spark, InputSpec in) {
    if (in.table() != null) {
      if (!spark.catalog().tableExists(in.table())) {
        throw new JobException("Cannot read --input-table " + in.table()
            + ": no such table in the session catalog (check the name, or use --input <path>)");
      }
      return spark.table(in.table());
    }
    String format = in.format() != null ? Formats.check(in.format(), "--input-format")
        : infer(spark, in.path());
    DataFrameReader r = spark.read().format(format);
    if (format.equals("csv")) {
      r = r.option("header", "true").option("multiLine", "true").option("escape", "\"");
    }
    try {
      return r.load(in.path());
    } catch (RuntimeException e) {
      throw new JobException("Cannot read --input " + in.path() + " as " + format + ": "
          + e.getMessage() + " (set --input-format if the format is not " + format + ")", e);
    }
  }

  /**
   * The format of {@code path}: from its name, else from the names of the data files in it
   * (Spark's own folders are named without a suffix), else parquet.
   */
  static String infer(SparkSession spark, String path) {
    String byName = Formats.fromName(path);
    if (byName != null) {
      return byName;
    }
    Path p = new Path(path);
    try {
      FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
      if (!fs.exists(p)) {
        throw new JobException("Cannot read --input " + path + ": no such file or folder");
      }
      if (fs.getFileStatus(p).isDirectory() && Formats.deltaAvailable()
          && fs.exists(new Path(p, "_delta_log"))) {
        return Formats.DELTA;
      }
      String found = firstDataFileFormat(fs, p, 3);
      return found != null ? found : "parquet";
    } catch (IOException e) {
      throw new JobException("Cannot read --input " + path + ": " + e.getMessage(), e);
    }
  }

  private static String firstDataFileFormat(FileSystem fs, Path p, int depth) throws IOException {
    if (!fs.getFileStatus(p).isDirectory()) {
      return Formats.fromName(p.getName());
    }
    for (FileStatus st : fs.listStatus(p)) {
      String name = st.getPath().getName();
      if (name.startsWith("_") || name.startsWith(".")) {
        continue; // _SUCCESS, _delta_log, .crc files
      }
      String f = st.isDirectory() ? (depth > 0 ? firstDataFileFormat(fs, st.getPath(), depth - 1)
          : null) : Formats.fromName(name);
      if (f != null) {
        return f;
      }
    }
    return null;
  }
}
