package dev.llmbatch.jobs.summary;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.llmbatch.jobs.JobException;
import java.io.IOException;
import java.io.OutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes and reads {@code _llm_batch_summary.json} on any Hadoop filesystem (local, s3a, ...).
 * The leading underscore keeps Spark's readers from taking it for data.
 */
public final class SummaryWriter {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private SummaryWriter() {}

  /** Writes {@code summary} to {@code file}, replacing an earlier run's. */
  public static void write(RunSummary summary, String file, Configuration hadoop) {
    Path p = new Path(file);
    try {
      FileSystem fs = p.getFileSystem(hadoop);
      try (OutputStream out = fs.create(p, true)) {
        JSON.writeValue(out, summary);
      }
    } catch (IOException e) {
      throw new JobException("Cannot write the run summary " + file + ": " + e.getMessage()
          + " (the output itself was written)", e);
    }
  }

  /** The summary as JSON text. */
  public static String toJson(RunSummary summary) {
    try {
      return JSON.writeValueAsString(summary);
    } catch (IOException e) {
      throw new JobException("Cannot serialize the run summary: " + e.getMessage(), e);
    }
  }

  /** Reads a summary written by {@link #write}. */
  public static RunSummary read(String file, Configuration hadoop) {
    Path p = new Path(file);
    try (java.io.InputStream in = p.getFileSystem(hadoop).open(p)) {
      return JSON.readValue(in, RunSummary.class);
    } catch (IOException e) {
      throw new JobException("Cannot read the run summary " + file + ": " + e.getMessage(), e);
    }
  }
}
