package dev.llmbatch.jobs.run;

import dev.llmbatch.jobs.config.JobConf;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * The job's Spark session. Under spark-submit (which sets {@code spark.master}) or inside a running
 * application (Databricks, a notebook) the given session is used; run directly, an embedded
 * {@code local[*]} session starts, with the UI off.
 */
public final class Sessions {
  private static final Logger LOG = LoggerFactory.getLogger(Sessions.class);

  private Sessions() {}

  /** The session for {@code conf}; {@code embedded[0]} tells whether this call started it. */
  public static SparkSession session(JobConf conf, boolean[] embedded) {
    Option<SparkSession> active = SparkSession.getActiveSession();
    if (active.isDefined()) {
      embedded[0] = false;
      return apply(active.get(), conf.sparkConf());
    }
    SparkConf given = new SparkConf(); // picks up the spark.* properties spark-submit sets
    SparkSession.Builder b = SparkSession.builder().appName("llm-batch " + conf.kind().command());
    if (!given.contains("spark.master")) {
      embedded[0] = true;
      b = b.master(conf.master()).config("spark.ui.enabled", "false")
          .config("spark.ui.showConsoleProgress", "false");
      LOG.info("Starting an embedded Spark session on {}", conf.master());
    } else {
      embedded[0] = false;
    }
    for (Map.Entry<String, String> e : conf.sparkConf().entrySet()) {
      b = b.config(e.getKey(), e.getValue());
    }
    return b.getOrCreate();
  }

  /** Whether the session runs its tasks in this JVM ({@code local}, {@code local[n]}, ...). */
  public static boolean isLocal(SparkSession spark) {
    return spark.sparkContext().isLocal();
  }

  private static SparkSession apply(SparkSession spark, Map<String, String> conf) {
    for (Map.Entry<String, String> e : conf.entrySet()) {
      if (spark.conf().isModifiable(e.getKey())) {
        spark.conf().set(e.getKey(), e.getValue());
      } else {
        LOG.warn("Spark setting {} cannot change in a running session; pass it to spark-submit"
            + " with --conf instead", e.getKey());
      }
    }
    return spark;
  }
}
