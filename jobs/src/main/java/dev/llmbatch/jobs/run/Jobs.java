package dev.llmbatch.jobs.run;

import dev.llmbatch.jobs.config.JobConf;
import dev.llmbatch.jobs.summary.RunSummary;
import org.apache.spark.sql.SparkSession;

/** Entry point for running a resolved job: picks the session, the model binding, the progress bar. */
public final class Jobs {
  private Jobs() {}

  /** Runs {@code conf} in the given or an embedded session; stops the session only if it started it. */
  public static RunSummary run(JobConf conf) {
    boolean[] embedded = new boolean[1];
    SparkSession spark = Sessions.session(conf, embedded);
    try {
      return run(spark, conf);
    } finally {
      if (embedded[0]) {
        spark.stop();
      }
    }
  }

  /** Runs {@code conf} in {@code spark}. */
  public static RunSummary run(SparkSession spark, JobConf conf) {
    boolean bar = switch (conf.progress()) {
      case "true" -> true;
      case "false" -> false;
      default -> Sessions.isLocal(spark) && System.console() != null;
    };
    return new JobRunner(spark, conf, UdfBinding.forConf(conf), bar).run();
  }
}
