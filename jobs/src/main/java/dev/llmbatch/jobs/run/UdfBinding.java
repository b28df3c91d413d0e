package dev.llmbatch.jobs.run;

import dev.llmbatch.jobs.JobException;
import dev.llmbatch.jobs.batch.BatchPartition;
import dev.llmbatch.jobs.config.JobConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/** The {@link ModelBinding} over the udf module's transforms and executor model registry. */
final class UdfBinding implements ModelBinding {
  private UdfBinding() {}

  static ModelBinding forConf(JobConf conf) {
    return new UdfBinding();
  }

  @Override
  public Dataset<Row> serveTable(Dataset<Row> rows, JobConf conf, long created) {
    throw new JobException("Cannot serve " + conf.kind().command() + ": not wired yet");
  }

  @Override
  public BatchPartition.ModelSource executorModel(JobConf conf, long created) {
    throw new JobException("Cannot serve batch: not wired yet");
  }
}
