package dev.llmbatch.jobs.summary;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.StageInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Driver-side progress of a run: logs each finished partition of the run's Spark jobs (those in
 * its job group) and, when asked, draws a console progress bar over them.
 */
public final class ProgressListener extends SparkListener implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ProgressListener.class);

  private final String jobGroup;
  private final String name;
  private final RunCounters counters;
  private final boolean bar;
  private final Set<Integer> resultStages = ConcurrentHashMap.newKeySet();
  private long total;
  private long finished;
  private ProgressBar progress;

  /** Tracks the jobs whose {@code spark.jobGroup.id} is {@code jobGroup}. */
  public ProgressListener(String jobGroup, String name, RunCounters counters, boolean bar) {
    this.jobGroup = jobGroup;
    this.name = name;
    this.counters = counters;
    this.bar = bar;
  }

  @Override
  public synchronized void onJobStart(SparkListenerJobStart start) {
    if (start.properties() == null
        || !jobGroup.equals(start.properties().getProperty("spark.jobGroup.id"))) {
      return;
    }
    // The result stage is created after its parents, so it has the highest id.
    StageInfo result = null;
    for (StageInfo s : CollectionConverters.asJava(start.stageInfos())) {
      if (result == null || s.stageId() > result.stageId()) {
        result = s;
      }
    }
    if (result == null) {
      return;
    }
    resultStages.add(result.stageId());
    total += result.numTasks();
    if (bar) {
      if (progress == null) {
        progress = new ProgressBarBuilder().setTaskName(name).setInitialMax(total)
            .setStyle(ProgressBarStyle.ASCII).setUnit(" partitions", 1).continuousUpdate()
            .build();
      } else {
        progress.maxHint(total);
      }
    }
  }

  @Override
  public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
    if (!resultStages.contains(end.stageId()) || end.taskInfo() == null
        || !end.taskInfo().successful()) {
      return;
    }
    finished++;
    long rows = counters.rows.value();
    LOG.info("{}: {}/{} partitions done, {} rows served, {} errors", name, finished, total, rows,
        counters.errorRows.value());
    if (progress != null) {
      progress.stepTo(finished);
      progress.setExtraMessage(rows + " rows");
    }
  }

  @Override
  public synchronized void onJobEnd(SparkListenerJobEnd end) {
    if (progress != null && finished >= total) {
      progress.refresh();
    }
  }

  @Override
  public synchronized void close() {
    if (progress != null) {
      progress.close();
      progress = null;
    }
  }
}
