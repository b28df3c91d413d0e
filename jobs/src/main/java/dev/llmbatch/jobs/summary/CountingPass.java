package dev.llmbatch.jobs.summary;

import java.util.Arrays;
import java.util.Iterator;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pass-through over served rows that feeds {@link RunCounters} and logs each partition's progress
 * as it finishes. It reads the OpenAI-shaped {@code response} ({@code usage.prompt_tokens},
 * {@code usage.completion_tokens}, {@code model}, {@code system_fingerprint}) and
 * {@code error.code}, whichever of them the schema has.
 */
public final class CountingPass implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(CountingPass.class);

  private final RunCounters counters;
  private final String job;
  private final int responseIdx;
  private final int usageIdx;
  private final int promptIdx;
  private final int completionIdx;
  private final int modelIdx;
  private final int fingerprintIdx;
  private final int errorIdx;
  private final int codeIdx;

  private CountingPass(RunCounters counters, String job, StructType schema, String responseCol,
      String errorCol) {
    this.counters = counters;
    this.job = job;
    this.responseIdx = index(schema, responseCol);
    StructType response = struct(schema, responseIdx);
    this.usageIdx = index(response, "usage");
    StructType usage = struct(response, usageIdx);
    this.promptIdx = index(usage, "prompt_tokens");
    this.completionIdx = index(usage, "completion_tokens");
    this.modelIdx = index(response, "model");
    this.fingerprintIdx = index(response, "system_fingerprint");
    this.errorIdx = index(schema, errorCol);
    this.codeIdx = index(struct(schema, errorIdx), "code");
  }

  /** {@code served} with the counting pass attached (lazy: counts as the write runs). */
  public static Dataset<Row> attach(Dataset<Row> served, RunCounters counters, String job,
      String responseCol, String errorCol) {
    StructType schema = served.schema();
    return served.mapPartitions(new CountingPass(counters, job, schema, responseCol, errorCol),
        Encoders.row(schema));
  }

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    return new Iterator<>() {
      final long start = System.nanoTime();
      long n;
      long errors;
      long completion;
      boolean done;

      @Override
      public boolean hasNext() {
        boolean more = rows.hasNext();
        if (!more && !done) {
          done = true;
          counters.partitions.add(1);
          double s = (System.nanoTime() - start) / 1e9;
          LOG.info("{}: partition done: {} rows, {} errors, {} completion tokens in {} s", job, n,
              errors, completion, String.format("%.1f", s));
        }
        return more;
      }

      @Override
      public Row next() {
        Row row = rows.next();
        n++;
        counters.rows.add(1);
        count(row);
        return row;
      }

      private void count(Row row) {
        if (errorIdx >= 0 && !row.isNullAt(errorIdx)) {
          errors++;
          counters.errorRows.add(1);
          Row err = row.getStruct(errorIdx);
          String code = codeIdx >= 0 && !err.isNullAt(codeIdx) ? err.getString(codeIdx) : "unknown";
          counters.errorCodes.add(code);
        }
        if (responseIdx < 0 || row.isNullAt(responseIdx)) {
          return;
        }
        Row resp = row.getStruct(responseIdx);
        if (usageIdx >= 0 && !resp.isNullAt(usageIdx)) {
          Row usage = resp.getStruct(usageIdx);
          if (promptIdx >= 0 && !usage.isNullAt(promptIdx)) {
            counters.promptTokens.add(((Number) usage.get(promptIdx)).longValue());
          }
          if (completionIdx >= 0 && !usage.isNullAt(completionIdx)) {
            long c = ((Number) usage.get(completionIdx)).longValue();
            completion += c;
            counters.completionTokens.add(c);
          }
        }
        String model = modelIdx >= 0 && !resp.isNullAt(modelIdx) ? resp.getString(modelIdx) : "";
        String fp = fingerprintIdx >= 0 && !resp.isNullAt(fingerprintIdx)
            ? resp.getString(fingerprintIdx) : "";
        counters.models.add(model + "\t" + fp);
      }
    };
  }

  private static int index(StructType t, String name) {
    return t == null || !Arrays.asList(t.fieldNames()).contains(name) ? -1 : t.fieldIndex(name);
  }

  private static StructType struct(StructType t, int idx) {
    return t != null && idx >= 0 && t.fields()[idx].dataType() instanceof StructType s ? s : null;
  }
}
