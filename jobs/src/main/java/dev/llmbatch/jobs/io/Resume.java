package dev.llmbatch.jobs.io;

import static org.apache.spark.sql.functions.col;

import dev.llmbatch.jobs.JobException;
import dev.llmbatch.jobs.config.OutputSpec;
import java.io.IOException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * Resume: the rows whose key is not yet in the output. Keys are compared as strings, because a key
 * that is also a partition column comes back from partition discovery with an inferred type.
 * Nothing already written is read beyond its key column.
 */
public final class Resume {
  private static final String KEY = "__llm_batch_done_key";

  private Resume() {}

  /**
   * The keys already written to {@code out} (column {@code idCol}), or null when the output does
   * not exist yet. {@code batchLines} reads OpenAI Batch output, whose key is {@code custom_id}
   * inside each JSON line.
   */
  public static Dataset<Row> writtenKeys(SparkSession spark, OutputSpec out, String idCol,
      boolean batchLines) {
    Dataset<Row> existing;
    if (out.table() != null) {
      if (!spark.catalog().tableExists(out.table())) {
        return null;
      }
      existing = spark.table(out.table());
    } else {
      if (!exists(spark, out.path())) {
        return null;
      }
      if (batchLines) {
        existing = spark.read().text(out.path())
            .select(functions.get_json_object(col("value"), "$.custom_id").as(idCol));
      } else {
        existing = spark.read().format(Formats.check(out.format(), "--output-format"))
            .option("header", "true").load(out.path());
      }
    }
    if (!java.util.Arrays.asList(existing.columns()).contains(idCol)) {
      throw new JobException("Cannot resume into " + out.describe() + ": the existing output has no"
          + " key column " + idCol + " (was it written with a different --id-col?)");
    }
    return existing.select(col(idCol).cast("string").as(KEY)).where(col(KEY).isNotNull())
        .distinct();
  }

  /** The rows of {@code input} whose {@code idCol} is not among {@code written}. */
  public static Dataset<Row> pending(Dataset<Row> input, String idCol, Dataset<Row> written) {
    if (!java.util.Arrays.asList(input.columns()).contains(idCol)) {
      throw new JobException("Cannot resume: the input has no key column " + idCol
          + " (columns: " + String.join(", ", input.columns()) + "; set --id-col)");
    }
    if (written == null) {
      return input;
    }
    return input.join(written, input.col(idCol).cast("string").equalTo(written.col(KEY)),
        "left_anti");
  }

  private static boolean exists(SparkSession spark, String path) {
    Path p = new Path(path);
    try {
      FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
      return fs.exists(p);
    } catch (IOException e) {
      throw new JobException("Cannot check the output " + path + ": " + e.getMessage(), e);
    }
  }
}
