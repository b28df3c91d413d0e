package dev.llmbatch.udf.executor;

import dev.llmbatch.engine.api.RequestKey;
import dev.llmbatch.udf.TransformSpec;
import dev.llmbatch.udf.metrics.LlmBatchMetrics;
import dev.llmbatch.udf.rows.ParsedRequest;
import dev.llmbatch.udf.rows.RequestReader;
import dev.llmbatch.udf.rows.ResponseRows;
import dev.llmbatch.udf.rows.RowError;
import dev.llmbatch.udf.rows.RowResult;
import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.TaskCompletionListener;

/**
 * Runs one partition through the executor's shared model, keeping up to {@code window} rows in
 * flight so the engine batches them with the rows of every other task; rows come out in input
 * order, one out per row in, with {@code response} and {@code error} appended.
 */
public final class PartitionRunner implements Serializable {
  private static final long serialVersionUID = 1L;

  private final TransformSpec spec;
  private final RequestReader reader;
  private final LlmBatchMetrics metrics;

  /**
   * @param metrics accumulators to add to, or null
   */
  public PartitionRunner(TransformSpec spec, RequestReader reader, LlmBatchMetrics metrics) {
    this.spec = spec;
    this.reader = reader;
    this.metrics = metrics;
  }

  /** The output rows of one partition, lazily, in input order. */
  public Iterator<Row> run(Iterator<Row> input) {
    return new Window(input);
  }

  private record Pending(Row input, ParsedRequest parsed, CompletableFuture<?> future) {}

  private final class Window implements Iterator<Row> {
    private final Iterator<Row> input;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private ModelService service;
    private long busySince = -1;

    Window(Iterator<Row> input) {
      this.input = input;
      TaskContext tc = TaskContext.get();
      if (tc != null) {
        tc.addTaskCompletionListener(new TaskCompletionListener() {
          @Override
          public void onTaskCompletion(TaskContext context) {
            // A killed or failed task stops waiting; its queued requests are abandoned.
            pending.forEach(p -> {
              if (p.future() != null) {
                p.future().cancel(false);
              }
            });
            pending.clear();
          }
        });
      }
    }

    @Override
    public boolean hasNext() {
      return !pending.isEmpty() || input.hasNext();
    }

    @Override
    public Row next() {
      while (pending.size() < spec.window() && input.hasNext()) {
        pending.add(submit(input.next()));
      }
      Pending p = pending.poll();
      if (p == null) {
        throw new NoSuchElementException();
      }
      RowResult r = finish(p);
      if (pending.isEmpty() && busySince >= 0) {
        if (metrics != null) {
          metrics.engineBusy(System.nanoTime() - busySince);
        }
        busySince = -1;
      }
      if (metrics != null) {
        metrics.row(r.error() == null ? null : r.error().code(), r.promptTokens(), r.completionTokens());
        if (service != null && !hasNext() && service.embeddingStats() != null) {
          metrics.embeddingBatching(SparkEnv.get() == null ? null : SparkEnv.get().executorId(),
              service.embeddingStats());
        }
      }
      return append(p.input(), r);
    }

    private Pending submit(Row row) {
      ParsedRequest parsed = reader.read(row);
      if (!parsed.isOk()) {
        return new Pending(row, parsed, null);
      }
      if (service == null) {
        ExecutorModels.Acquired a = ExecutorModels.acquire(spec.model());
        service = a.service();
        if (a.loadedNow() && metrics != null) {
          metrics.modelLoaded(SparkEnv.get() == null ? null : SparkEnv.get().executorId());
        }
      }
      if (busySince < 0) {
        busySince = System.nanoTime();
      }
      RequestKey key = new RequestKey(parsed.rowKey(), spec.jobSeed());
      return new Pending(row, parsed, service.submit(spec.endpoint(), parsed.body(), key));
    }

    private RowResult finish(Pending p) {
      if (p.future() == null) {
        return RowResult.failed(p.parsed().error());
      }
      Object response;
      try {
        response = p.future().get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("Task interrupted while waiting for the model", e);
      } catch (ExecutionException | RuntimeException e) {
        return ResponseRows.failure(e);
      }
      try {
        return ResponseRows.success(spec.endpoint(), response, spec.created());
      } catch (RuntimeException e) {
        return RowResult.failed(new RowError(RowError.SERVER_ERROR,
            "Cannot write the response of row " + p.parsed().rowKey() + ": " + e));
      }
    }
  }

  private static Row append(Row input, RowResult r) {
    int n = input.length();
    Object[] values = new Object[n + 2];
    for (int i = 0; i < n; i++) {
      values[i] = input.get(i);
    }
    values[n] = r.response();
    values[n + 1] = r.errorRow();
    return RowFactory.create(values);
  }
}
