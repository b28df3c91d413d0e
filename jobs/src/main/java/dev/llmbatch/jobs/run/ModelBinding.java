package dev.llmbatch.jobs.run;

import dev.llmbatch.jobs.config.JobConf;
import dev.llmbatch.udf.ModelHandle;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * How a job reaches its model on the executors: the seam between the job plumbing here and the udf
 * module's transforms and executor model registry.
 */
public interface ModelBinding {
  /**
   * The served table: {@code rows} plus the response and error columns named in
   * {@code conf.columns()}, for a chat, completions or embeddings job. Chat rows carry their
   * messages in {@link ChatInputs#MESSAGES}.
   */
  Dataset<Row> serveTable(Dataset<Row> rows, JobConf conf, long createdEpochSeconds);

  /** The model handle for a batch job (serializable; each executor loads the model once). */
  ModelHandle handle(JobConf conf);
}
