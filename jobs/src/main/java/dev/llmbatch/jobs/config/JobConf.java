package dev.llmbatch.jobs.config;

import dev.llmbatch.jobs.JobException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A job's resolved configuration: the one place where the command line overrides the conf file,
 * which overrides the defaults. Lives on the driver only (deliberately not Serializable); executors
 * get what they need from the udf module's small serializable handles.
 */
public final class JobConf {
  private final JobKind kind;
  private final String model;
  private final String device;
  private final String dtype;
  private final InputSpec input;
  private final OutputSpec output;
  private final Columns columns;
  private final GenerationParams params;
  private final Integer dimensions;
  private final int partitions;
  private final String master;
  private final String progress;
  private final Map<String, String> sparkConf;
  private final Map<String, String> origins;

  private JobConf(JobKind kind, Layers l) {
    this.kind = kind;
    this.model = l.string(JobOptions.MODEL);
    if (model == null || model.isBlank()) {
      throw new JobException("Cannot start the " + kind.command() + " job: no model (pass --model"
          + " <uri>: a local MLflow model folder, s3a://..., runs:/... or models:/...)");
    }
    this.device = orDefault(l.string(JobOptions.DEVICE), JobOptions.DEVICE_DEFAULT);
    this.dtype = orDefault(lower(l.string(JobOptions.DTYPE)), JobOptions.DTYPE_DEFAULT);
    if (!dtype.matches("auto|fp32|fp16")) {
      throw new JobException("Invalid --dtype: " + dtype + " (use auto, fp32 or fp16; fp16 needs"
          + " a GPU device)");
    }
    String inputFormat = l.string(JobOptions.INPUT_FORMAT);
    if (kind == JobKind.BATCH && inputFormat == null) {
      inputFormat = "text"; // an OpenAI Batch file is JSON lines, parsed line by line
    }
    this.input = new InputSpec(l.string(JobOptions.INPUT), l.string(JobOptions.INPUT_TABLE),
        lower(inputFormat));
    this.columns = new Columns(
        kind == JobKind.BATCH ? "custom_id" : l.string(JobOptions.ID_COL),
        l.string(JobOptions.MESSAGES_COL), l.string(JobOptions.PROMPT_COL),
        l.string(JobOptions.INPUT_COL), l.string(JobOptions.SYSTEM_PROMPT),
        l.string(JobOptions.RESPONSE_COL), l.string(JobOptions.ERROR_COL));
    boolean resume = l.bool(JobOptions.RESUME, false);
    if (resume && columns.id() == null) {
      throw new JobException("Cannot resume the " + kind.command() + " job: no row key (pass"
          + " --id-col <column>; resume skips the keys already in the output)");
    }
    String outputFormat = lower(l.string(JobOptions.OUTPUT_FORMAT));
    if (kind == JobKind.BATCH) {
      if (outputFormat != null && !outputFormat.equals("json")) {
        throw new JobException("Invalid --output-format: " + outputFormat
            + " (a batch job writes OpenAI Batch output, JSON lines; drop --output-format)");
      }
      outputFormat = "json";
    }
    this.output = new OutputSpec(l.string(JobOptions.OUTPUT), l.string(JobOptions.OUTPUT_TABLE),
        outputFormat, l.list(JobOptions.PARTITION_BY), l.string(JobOptions.MODE), resume,
        l.string(JobOptions.SUMMARY));
    if (kind == JobKind.BATCH && !output.partitionBy().isEmpty()) {
      throw new JobException("Invalid --partition-by: " + output.partitionBy()
          + " (a batch job writes one OpenAI Batch output file set; drop --partition-by)");
    }
    this.params = kind.generates() ? new GenerationParams(
        l.dbl(JobOptions.TEMPERATURE), l.integer(JobOptions.MAX_TOKENS), l.list(JobOptions.STOP),
        l.dbl(JobOptions.TOP_P), l.integer(JobOptions.TOP_K), l.lng(JobOptions.SEED),
        l.integer(JobOptions.N), l.boolOrNull(JobOptions.IGNORE_EOS),
        l.dbl(JobOptions.PRESENCE_PENALTY), l.dbl(JobOptions.FREQUENCY_PENALTY))
        : GenerationParams.NONE;
    if (!kind.generates()) {
      l.refuse(kind, JobOptions.TEMPERATURE, JobOptions.MAX_TOKENS, JobOptions.STOP,
          JobOptions.TOP_P, JobOptions.TOP_K, JobOptions.SEED, JobOptions.N, JobOptions.IGNORE_EOS,
          JobOptions.PRESENCE_PENALTY, JobOptions.FREQUENCY_PENALTY);
    }
    this.dimensions = l.integer(JobOptions.DIMENSIONS);
    if (dimensions != null && dimensions < 1) {
      throw new JobException("Invalid --dimensions: " + dimensions + " (must be at least 1)");
    }
    Integer parts = l.integer(JobOptions.PARTITIONS);
    this.partitions = parts == null ? JobOptions.PARTITIONS_DEFAULT : parts;
    if (partitions < 0) {
      throw new JobException("Invalid --partitions: " + partitions + " (0 keeps the input's)");
    }
    this.master = orDefault(l.string(JobOptions.MASTER), JobOptions.MASTER_DEFAULT);
    this.progress = orDefault(lower(l.string(JobOptions.PROGRESS)), JobOptions.PROGRESS_DEFAULT);
    if (!List.of("auto", "true", "false").contains(progress)) {
      throw new JobException("Invalid --progress: " + progress + " (use auto, true or false)");
    }
    this.sparkConf = l.sparkConf();
    this.origins = l.origins;
  }

  /**
   * Resolves a job's options: {@code cli} (values the user typed; absent keys were not given)
   * over {@code file} (a parsed {@link ConfFile}) over the defaults.
   */
  public static JobConf resolve(JobKind kind, Map<String, Object> cli, Map<String, Object> file) {
    return new JobConf(kind, new Layers(cli, file));
  }

  public JobKind kind() { return kind; }
  public String model() { return model; }
  public String device() { return device; }
  /** auto, fp32 or fp16. */
  public String dtype() { return dtype; }
  public InputSpec input() { return input; }
  public OutputSpec output() { return output; }
  public Columns columns() { return columns; }
  public GenerationParams params() { return params; }
  public Integer dimensions() { return dimensions; }
  public int partitions() { return partitions; }
  public String master() { return master; }
  public String progress() { return progress; }
  public Map<String, String> sparkConf() { return sparkConf; }

  /** Where each set option came from ({@code cli} or {@code conf-file}): logged at job start. */
  public Map<String, String> origins() { return origins; }

  private static String orDefault(String v, String d) {
    return v == null || v.isBlank() ? d : v;
  }

  private static String lower(String v) {
    return v == null ? null : v.toLowerCase(Locale.ROOT);
  }

  /** The two layers and the typed lookups over them. */
  private static final class Layers {
    final Map<String, Object> cli;
    final Map<String, Object> file;
    final Map<String, String> origins = new TreeMap<>();

    Layers(Map<String, Object> cli, Map<String, Object> file) {
      this.cli = cli == null ? Map.of() : cli;
      this.file = file == null ? Map.of() : file;
    }

    Object raw(String key) {
      Object v = cli.get(key);
      if (v != null && !(v instanceof List<?> l && l.isEmpty())) {
        origins.put(key, "cli");
        return v;
      }
      v = file.get(key);
      if (v != null) {
        origins.put(key, "conf-file");
      }
      return v;
    }

    String string(String key) {
      Object v = raw(key);
      if (v instanceof List<?> || v instanceof Map<?, ?>) {
        throw new JobException("Invalid " + key + ": " + v + " (expected one value)");
      }
      return v == null ? null : v.toString();
    }

    List<String> list(String key) {
      Object v = raw(key);
      if (v == null) {
        return null;
      }
      List<String> out = new ArrayList<>();
      if (v instanceof List<?> items) {
        items.forEach(i -> out.add(i.toString()));
      } else if (key.equals(JobOptions.STOP)) {
        out.add(v.toString()); // a stop string may itself hold commas
      } else {
        Arrays.stream(v.toString().split(",")).map(String::trim).filter(s -> !s.isEmpty())
            .forEach(out::add);
      }
      return out;
    }

    Double dbl(String key) {
      Object v = raw(key);
      try {
        return v == null ? null : v instanceof Number num ? num.doubleValue()
            : Double.valueOf(v.toString().trim());
      } catch (NumberFormatException e) {
        throw new JobException("Invalid --" + key + ": " + v + " (expected a number)");
      }
    }

    Long lng(String key) {
      Object v = raw(key);
      try {
        return v == null ? null : v instanceof Number num && !(v instanceof Double)
            ? Long.valueOf(num.longValue()) : Long.valueOf(v.toString().trim());
      } catch (NumberFormatException e) {
        throw new JobException("Invalid --" + key + ": " + v + " (expected a whole number)");
      }
    }

    Integer integer(String key) {
      Long v = lng(key);
      if (v != null && (v > Integer.MAX_VALUE || v < Integer.MIN_VALUE)) {
        throw new JobException("Invalid --" + key + ": " + v + " (out of range)");
      }
      return v == null ? null : v.intValue();
    }

    Boolean boolOrNull(String key) {
      Object v = raw(key);
      if (v == null || v instanceof Boolean) {
        return (Boolean) v;
      }
      String s = v.toString().trim().toLowerCase(Locale.ROOT);
      if (s.equals("true") || s.equals("false")) {
        return Boolean.valueOf(s);
      }
      throw new JobException("Invalid --" + key + ": " + v + " (expected true or false)");
    }

    boolean bool(String key, boolean dflt) {
      Boolean b = boolOrNull(key);
      return b == null ? dflt : b;
    }

    /** Spark settings: the file's map, then each {@code key=value} from the command line. */
    Map<String, String> sparkConf() {
      Map<String, String> out = new LinkedHashMap<>();
      if (file.get(JobOptions.SPARK_CONF) instanceof Map<?, ?> m) {
        m.forEach((k, v) -> out.put(k.toString(), v.toString()));
      } else if (file.get(JobOptions.SPARK_CONF) != null) {
        throw new JobException("Invalid spark: in the conf file (expected a map of key: value)");
      }
      if (cli.get(JobOptions.SPARK_CONF) instanceof List<?> items) {
        for (Object item : items) {
          String kv = item.toString();
          int eq = kv.indexOf('=');
          if (eq <= 0) {
            throw new JobException("Invalid --spark-conf: " + kv + " (expected key=value)");
          }
          out.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
        }
      }
      return java.util.Collections.unmodifiableMap(out);
    }

    void refuse(JobKind kind, String... keys) {
      for (String k : keys) {
        if (cli.get(k) != null || file.get(k) != null) {
          throw new JobException("Invalid --" + k + " for the " + kind.command()
              + " job (it takes no sampling parameters)");
        }
      }
    }
  }
}
