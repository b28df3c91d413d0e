package dev.llmbatch.jobs.run;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.get_json_object;
import static org.apache.spark.sql.functions.trim;

import dev.llmbatch.engine.api.OpenAiJson;
import dev.llmbatch.jobs.JobException;
import dev.llmbatch.jobs.batch.BatchPartition;
import dev.llmbatch.jobs.config.JobConf;
import dev.llmbatch.jobs.config.JobKind;
import dev.llmbatch.jobs.config.JobOptions;
import dev.llmbatch.jobs.config.OutputSpec;
import dev.llmbatch.jobs.io.Resume;
import dev.llmbatch.jobs.io.TableReader;
import dev.llmbatch.jobs.io.TableWriter;
import dev.llmbatch.jobs.summary.CountingPass;
import dev.llmbatch.jobs.summary.ProgressListener;
import dev.llmbatch.jobs.summary.RunCounters;
import dev.llmbatch.jobs.summary.RunSummary;
import dev.llmbatch.jobs.summary.SummaryWriter;
import dev.llmbatch.udf.LlmBatchOptions;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one job on the driver: read, skip what --resume finds written, serve, write through Spark's
 * commit protocol, then summarise. The model work happens once, inside the write.
 */
public final class JobRunner {
  private static final Logger LOG = LoggerFactory.getLogger(JobRunner.class);
  /** Lines of a batch file that were served before and so are not served again. */
  private static final String LINE_KEY = "__llm_batch_custom_id";

  private final SparkSession spark;
  private final JobConf conf;
  private final ModelBinding model;
  private final boolean progressBar;

  public JobRunner(SparkSession spark, JobConf conf, ModelBinding model, boolean progressBar) {
    this.spark = spark;
    this.conf = conf;
    this.model = model;
    this.progressBar = progressBar;
  }

  /** Runs the job; returns (and has printed and written) its summary. */
  public RunSummary run() {
    Instant started = Instant.now();
    long t0 = System.nanoTime();
    long created = started.getEpochSecond();
    SparkContext sc = spark.sparkContext();
    RunCounters counters = new RunCounters(sc);
    LOG.info("{} job: model {}, input {}, output {}, options from {}", conf.kind().command(),
        conf.model(), conf.input().path() != null ? conf.input().path()
            : "table:" + conf.input().table(), conf.output().describe(), conf.origins());

    Dataset<Row> input = conf.kind() == JobKind.BATCH ? batchLines(TableReader.read(spark,
        conf.input())) : TableReader.read(spark, conf.input());
    long rowsIn = input.count();
    Dataset<Row> todo = input;
    if (conf.output().resume()) {
      String key = conf.kind() == JobKind.BATCH ? LINE_KEY : conf.columns().id();
      Dataset<Row> written = Resume.writtenKeys(spark, conf.output(),
          conf.kind() == JobKind.BATCH ? LINE_KEY : key, conf.kind() == JobKind.BATCH);
      todo = Resume.pending(input, key, written);
      if (written != null && conf.kind() == JobKind.BATCH) {
        todo = todo.where(col(LINE_KEY).isNotNull()); // unkeyed lines got their error line before
      }
    }
    if (conf.partitions() > 0) {
      todo = todo.repartition(conf.partitions());
    }
    Dataset<Row> out = conf.kind() == JobKind.BATCH ? serveBatch(todo, counters, created)
        : serveTable(todo, counters, created);

    String group = "llm-batch-" + UUID.randomUUID();
    sc.setJobGroup(group, "llm-batch " + conf.kind().command() + " -> "
        + conf.output().describe(), false);
    ProgressListener listener = new ProgressListener(group, conf.kind().command(), counters,
        progressBar);
    sc.addSparkListener(listener);
    String status = "failed";
    try {
      TableWriter.write(out, conf.kind() == JobKind.BATCH ? batchOutput() : conf.output());
      status = "succeeded";
    } finally {
      sc.removeSparkListener(listener);
      listener.close();
      sc.clearJobGroup();
      if (status.equals("failed")) {
        LOG.error("{} job failed after {} rows; committed output (if any) stays valid, rerun"
            + " with --resume to finish", conf.kind().command(), counters.rows.value());
      }
    }
    RunSummary summary = summarize(status, started, (System.nanoTime() - t0) / 1e9, rowsIn,
        counters);
    System.out.print(summary.render());
    String file = summaryFile();
    if (file != null) {
      SummaryWriter.write(summary, file, sc.hadoopConfiguration());
      System.out.println("  summary      " + file);
    }
    return summary;
  }

  /** Batch output lines are written as they are: one JSON text per line. */
  private OutputSpec batchOutput() {
    OutputSpec o = conf.output();
    return new OutputSpec(o.path(), o.table(), "text", o.partitionBy(), o.mode(), o.resume(),
        o.summary());
  }

  /** Non-blank lines of a batch file, with their custom_id for resume. */
  private static Dataset<Row> batchLines(Dataset<Row> raw) {
    if (raw.columns().length != 1 || !raw.schema().fields()[0].dataType().equals(
        DataTypes.StringType)) {
      throw new JobException("Cannot read the batch input: expected JSON lines read as text (one"
          + " string column), got " + raw.schema().simpleString()
          + " (drop --input-format, or use --input-format text)");
    }
    return raw.toDF("value").where(trim(col("value")).notEqual(""))
        .withColumn(LINE_KEY, get_json_object(col("value"), "$.custom_id"));
  }

  private Dataset<Row> serveBatch(Dataset<Row> lines, RunCounters counters, long created) {
    long jobSeed = conf.params().seed() == null ? 0L : conf.params().seed();
    String defaults = OpenAiJson.write(conf.params().asOpenAi());
    BatchPartition fn = new BatchPartition(model.handle(conf), counters, jobSeed,
        LlmBatchOptions.WINDOW_DEFAULT, defaults, created);
    return lines.select("value").mapPartitions(fn,
        Encoders.row(new StructType().add("value", DataTypes.StringType)));
  }

  private Dataset<Row> serveTable(Dataset<Row> rows, RunCounters counters, long created) {
    var names = Arrays.asList(rows.columns());
    for (String c : new String[] {conf.columns().response(), conf.columns().error()}) {
      if (names.contains(c)) {
        throw new JobException("Cannot add the column " + c + ": the input already has it"
            + " (rename it, or set --" + (c.equals(conf.columns().response())
            ? JobOptions.RESPONSE_COL : JobOptions.ERROR_COL) + ")");
      }
    }
    Dataset<Row> in = conf.kind() == JobKind.CHAT ? ChatInputs.withMessages(rows, conf.columns())
        : rows;
    Dataset<Row> served = model.serveTable(in, conf, created);
    if (Arrays.asList(served.columns()).contains(ChatInputs.MESSAGES)) {
      served = served.drop(ChatInputs.MESSAGES);
    }
    return CountingPass.attach(served, counters, conf.kind().command(), conf.columns().response(),
        conf.columns().error());
  }

  private RunSummary summarize(String status, Instant started, double wall, long rowsIn,
      RunCounters c) {
    Map<String, Long> models = c.models.value();
    String served = "";
    String fingerprint = "";
    long best = -1;
    for (Map.Entry<String, Long> e : models.entrySet()) {
      if (e.getValue() > best) {
        best = e.getValue();
        String[] parts = e.getKey().split("\t", -1);
        served = parts[0];
        fingerprint = parts.length > 1 ? parts[1] : "";
      }
    }
    long rows = c.rows.value();
    return new RunSummary(conf.kind().command(), status, conf.model(), served, fingerprint,
        conf.input().path() != null ? conf.input().path() : "table:" + conf.input().table(),
        conf.output().describe(), conf.output().resume(), started.toString(), round(wall),
        rowsIn, Math.max(0, rowsIn - rows), rows, c.errorRows.value(), c.errorsByCode(),
        c.promptTokens.value(), c.completionTokens.value(), RunSummary.rate(rows, wall),
        RunSummary.rate(c.completionTokens.value(), wall), c.partitions.value(),
        spark.sparkContext().master(), spark.sparkContext().applicationId());
  }

  private static double round(double s) {
    return Math.round(s * 1000.0) / 1000.0;
  }

  /** {@code --summary}, else beside the output path; for a table, its location when it has one. */
  private String summaryFile() {
    if (conf.output().summary() != null) {
      return conf.output().summary();
    }
    if (conf.output().path() != null) {
      return conf.output().path().replaceAll("/+$", "") + "/" + JobOptions.SUMMARY_FILE;
    }
    try {
      Row loc = spark.sql("DESCRIBE TABLE EXTENDED " + conf.output().table())
          .where(col("col_name").equalTo("Location")).first();
      return loc.getString(1).replaceAll("/+$", "") + "/" + JobOptions.SUMMARY_FILE;
    } catch (RuntimeException e) {
      LOG.warn("No location for table {}: the summary is printed only (set --summary <file>)",
          conf.output().table());
      return null;
    }
  }
}
