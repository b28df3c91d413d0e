package dev.llmbatch.jobs.cli;

import dev.llmbatch.jobs.config.JobOptions;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Options every job command takes. Fields stay null unless typed, so that {@code JobConf} can tell
 * "not given" (the conf file or the default decides) from "given".
 */
public final class JobOptionsMixin {
  @Option(names = "--conf-file", paramLabel = "<yaml>",
      description = "Job conf file (YAML, keys as the long options); the command line wins.")
  Path confFile;

  @Option(names = "--model", paramLabel = "<uri>",
      description = "MLflow model: local folder, file:, s3a://, runs:/<run>/<path>, models:/<name>/<v>.")
  String model;

  @Option(names = "--device", description = "Executors' device: auto, cpu, gpu or gpu:N (default cpu).")
  String device;

  @Option(names = "--dtype", description = "Executors' compute dtype: auto (FP32 on CPU, the"
      + " logged torch_dtype as FP16 on GPU), fp32, or fp16 (GPU only).")
  String dtype;

  @Option(names = "--input", paramLabel = "<path>", description = "Input file or folder (s3a:// works).")
  String input;

  @Option(names = "--input-table", paramLabel = "<table>", description = "Input catalog table.")
  String inputTable;

  @Option(names = "--input-format",
      description = "parquet, json (JSON lines), csv, orc, text, delta; inferred from the path.")
  String inputFormat;

  @Option(names = "--partitions", description = "Repartition the rows to serve (0 keeps the input's).")
  Integer partitions;

  @Option(names = "--output", paramLabel = "<path>", description = "Output folder (s3a:// works).")
  String output;

  @Option(names = "--output-table", paramLabel = "<table>", description = "Output catalog table.")
  String outputTable;

  @Option(names = "--output-format", description = "parquet (default), json, csv, orc, delta.")
  String outputFormat;

  @Option(names = "--partition-by", split = ",", paramLabel = "<col>",
      description = "Partition the output by these columns.")
  List<String> partitionBy;

  @Option(names = "--mode", description = "Save mode: errorifexists (default), overwrite, append, ignore.")
  String mode;

  @Option(names = "--resume", arity = "0..1", fallbackValue = "true",
      description = "Serve only the keys not yet in the output, and append them.")
  Boolean resume;

  @Option(names = "--summary", paramLabel = "<file>",
      description = "Where to write the run summary JSON (default <output>/_llm_batch_summary.json).")
  String summary;

  @Option(names = "--master", description = "Master of an embedded session (default local[*]);"
      + " ignored under spark-submit.")
  String master;

  @Option(names = "--spark-conf", paramLabel = "<key=value>",
      description = "Extra Spark setting (repeatable).")
  List<String> sparkConf;

  @Option(names = "--progress", description = "Console progress bar: auto (default), true, false.")
  String progress;

  @Option(names = "--response-col", description = "Name of the added response column (default response).")
  String responseCol;

  @Option(names = "--error-col", description = "Name of the added error column (default error).")
  String errorCol;

  /** The options the user typed, keyed as {@link JobOptions}. */
  Map<String, Object> typed() {
    Map<String, Object> m = new LinkedHashMap<>();
    put(m, JobOptions.MODEL, model);
    put(m, JobOptions.DEVICE, device);
    put(m, JobOptions.DTYPE, dtype);
    put(m, JobOptions.INPUT, input);
    put(m, JobOptions.INPUT_TABLE, inputTable);
    put(m, JobOptions.INPUT_FORMAT, inputFormat);
    put(m, JobOptions.PARTITIONS, partitions);
    put(m, JobOptions.OUTPUT, output);
    put(m, JobOptions.OUTPUT_TABLE, outputTable);
    put(m, JobOptions.OUTPUT_FORMAT, outputFormat);
    put(m, JobOptions.PARTITION_BY, partitionBy);
    put(m, JobOptions.MODE, mode);
    put(m, JobOptions.RESUME, resume);
    put(m, JobOptions.SUMMARY, summary);
    put(m, JobOptions.MASTER, master);
    put(m, JobOptions.SPARK_CONF, sparkConf);
    put(m, JobOptions.PROGRESS, progress);
    put(m, JobOptions.RESPONSE_COL, responseCol);
    put(m, JobOptions.ERROR_COL, errorCol);
    return m;
  }

  static void put(Map<String, Object> m, String key, Object v) {
    if (v != null) {
      m.put(key, v);
    }
  }
}
