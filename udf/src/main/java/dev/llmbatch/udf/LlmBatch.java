package dev.llmbatch.udf;

import dev.llmbatch.udf.executor.PartitionRunner;
import dev.llmbatch.udf.metrics.LlmBatchMetrics;
import dev.llmbatch.udf.rows.Endpoint;
import dev.llmbatch.udf.rows.RequestReader;
import dev.llmbatch.udf.rows.Schemas;
import java.time.Instant;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

/**
 * The Java API of batched transforms: a DataFrame in, the same rows out with {@code response}
 * and {@code error} columns appended (schemas in {@code spec/openai-shapes.md}), in the same order
 * within each partition. Runs as one {@code mapPartitions}; each executor loads the model once.
 */
public final class LlmBatch {
  private LlmBatch() {}

  /** Chat completions over the {@code messages} column. */
  public static Dataset<Row> chat(Dataset<Row> df, ModelHandle model) {
    return transform(df, TransformSpec.of(Endpoint.CHAT, model), null);
  }

  /** Text completions over the {@code prompt} column. */
  public static Dataset<Row> complete(Dataset<Row> df, ModelHandle model) {
    return transform(df, TransformSpec.of(Endpoint.COMPLETIONS, model), null);
  }

  /** Embeddings of the {@code input} column. */
  public static Dataset<Row> embed(Dataset<Row> df, ModelHandle model) {
    return transform(df, TransformSpec.of(Endpoint.EMBEDDINGS, model), null);
  }

  /** The output schema of {@code spec} over {@code input} (validates the configuration). */
  public static StructType outputSchema(StructType input, TransformSpec spec) {
    reader(input, spec);
    return Schemas.output(input, spec.endpoint(), spec.responseCol(), spec.errorCol());
  }

  /**
   * The transform of {@code spec}. Configuration errors (a missing column, bad default
   * parameters, a name clash) throw {@link UdfException} here, on the driver.
   *
   * @param metrics accumulators to add to, or null
   */
  public static Dataset<Row> transform(Dataset<Row> df, TransformSpec spec, LlmBatchMetrics metrics) {
    TransformSpec s = spec.created() > 0 ? spec
        : spec.withJob(spec.jobSeed(), Instant.now().getEpochSecond());
    StructType out = outputSchema(df.schema(), s);
    PartitionRunner runner = new PartitionRunner(s, reader(df.schema(), s), metrics);
    return df.mapPartitions((MapPartitionsFunction<Row, Row>) runner::run, Encoders.row(out));
  }

  private static RequestReader reader(StructType input, TransformSpec s) {
    String paramsCol = s.paramsCol();
    if (paramsCol == null && java.util.Arrays.asList(input.fieldNames()).contains("params")) {
      paramsCol = "params";
    }
    return new RequestReader(input, s.endpoint(), s.inputCol(), paramsCol, s.paramCols(), s.idCol(),
        s.defaultParams());
  }
}
