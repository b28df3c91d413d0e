package dev.llmbatch.jobs.batch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.engine.api.OpenAiJson;
import dev.llmbatch.jobs.summary.RunCounters;
import dev.llmbatch.udf.ModelHandle;
import dev.llmbatch.udf.executor.ExecutorModels;
import dev.llmbatch.udf.executor.ModelService;
import java.util.Iterator;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one partition of Batch API lines (column 0, a string) on an executor and emits the output
 * lines (one string column), feeding the run's counters and logging the partition when it ends.
 */
public final class BatchPartition implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(BatchPartition.class);

  private final ModelHandle model;
  private final RunCounters counters;
  private final long jobSeed;
  private final int window;
  private final String jobDefaults;
  private final long created;

  /**
   * @param model the model; each executor loads it once (udf's {@code ExecutorModels})
   * @param jobDefaults job-level request fields as a JSON object
   * @param created the job's start, epoch seconds
   */
  public BatchPartition(ModelHandle model, RunCounters counters, long jobSeed, int window,
      String jobDefaults, long created) {
    this.model = model;
    this.counters = counters;
    this.jobSeed = jobSeed;
    this.window = window;
    this.jobDefaults = jobDefaults;
    this.created = created;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    long start = System.nanoTime();
    Iterator<String> lines = new Iterator<>() {
      @Override
      public boolean hasNext() {
        return rows.hasNext();
      }

      @Override
      public String next() {
        Row r = rows.next();
        return r.isNullAt(0) ? "" : r.getString(0);
      }
    };
    ModelService service = ExecutorModels.acquire(model).service();
    ObjectNode defaults;
    try {
      defaults = (ObjectNode) OpenAiJson.mapper().readTree(jobDefaults);
    } catch (java.io.IOException e) {
      throw new IllegalStateException("Invalid job defaults " + jobDefaults, e);
    }
    Iterator<ServedLine> served = new BatchLineServer(service::submit, jobSeed, window, defaults,
        created).serve(lines);
    return new Iterator<>() {
      long n;
      long errors;
      boolean done;

      @Override
      public boolean hasNext() {
        boolean more = served.hasNext();
        if (!more && !done) {
          done = true;
          counters.partitions.add(1);
          LOG.info("batch: partition done: {} lines, {} errors in {} s", n, errors,
              String.format("%.1f", (System.nanoTime() - start) / 1e9));
        }
        return more;
      }

      @Override
      public Row next() {
        ServedLine s = served.next();
        n++;
        counters.rows.add(1);
        if (s.errorCode() != null) {
          errors++;
          counters.errorRows.add(1);
          counters.errorCodes.add(s.errorCode());
        } else {
          counters.promptTokens.add(s.promptTokens());
          counters.completionTokens.add(s.completionTokens());
          counters.models.add((s.model() == null ? "" : s.model()) + "\t"
              + (s.fingerprint() == null ? "" : s.fingerprint()));
        }
        return RowFactory.create(s.json());
      }
    };
  }
}
