package dev.llmbatch.jobs.batch;

import dev.llmbatch.engine.serve.LoadedModel;
import dev.llmbatch.jobs.summary.RunCounters;
import java.io.Serializable;
import java.util.Iterator;
import java.util.function.Supplier;
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

  /** The executor's model: serializable, loaded lazily once per JVM by whoever implements it. */
  public interface ModelSource extends Supplier<LoadedModel>, Serializable {}

  private final ModelSource model;
  private final RunCounters counters;
  private final long jobSeed;
  private final int window;

  public BatchPartition(ModelSource model, RunCounters counters, long jobSeed, int window) {
    this.model = model;
    this.counters = counters;
    this.jobSeed = jobSeed;
    this.window = window;
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
    Iterator<ServedLine> served = new BatchLineServer(model.get(), jobSeed, window).serve(lines);
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
