package dev.llmbatch.udf.ml;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.udf.LlmBatch;
import dev.llmbatch.udf.LlmBatchOptions;
import dev.llmbatch.udf.ModelHandle;
import dev.llmbatch.udf.TransformSpec;
import dev.llmbatch.udf.UdfException;
import dev.llmbatch.udf.metrics.LlmBatchMetrics;
import dev.llmbatch.udf.rows.Endpoint;
import dev.llmbatch.udf.rows.JsonRows;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

/**
 * The shared Params of the llm-batch spark.ml {@code Transformer}s: the model (URI, device, dtype,
 * engine options), the input and output columns, per-row parameter columns, default parameters,
 * the row-key column and the in-flight window. Subclasses fix the endpoint.
 */
public abstract class LlmTransformer extends Transformer implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private transient LlmBatchMetrics metrics;

  private final Param<String> modelUri;
  private final Param<String> device;
  private final Param<String> dtype;
  private final Param<String> modelOptions;
  private final Param<String> inputCol;
  private final Param<String> responseCol;
  private final Param<String> errorCol;
  private final Param<String> paramsCol;
  private final StringArrayParam paramCols;
  private final Param<String> idCol;
  private final Param<String> defaultParams;
  private final IntParam window;
  private final LongParam jobSeed;
  private final LongParam created;

  protected LlmTransformer(String uid, String defaultInputCol) {
    this.uid = uid;
    modelUri = new Param<>(this, "modelUri", "logged model folder URI (s3a://, hdfs://, file:/, a path)");
    device = new Param<>(this, "device", "auto (task GPU else CPU), cpu, gpu or gpu:N");
    dtype = new Param<>(this, "dtype", "auto, fp32 or fp16");
    modelOptions = new Param<>(this, "modelOptions", "engine/cache options as a JSON object of strings");
    inputCol = new Param<>(this, "inputCol", "the messages/prompt/input column");
    responseCol = new Param<>(this, "responseCol", "output column of the response struct");
    errorCol = new Param<>(this, "errorCol", "output column of the error struct");
    paramsCol = new Param<>(this, "paramsCol",
        "column of per-row parameters (struct, map or JSON string); empty = 'params' when present");
    paramCols = new StringArrayParam(this, "paramCols",
        "per-parameter columns; unset = every column named like an OpenAI parameter");
    idCol = new Param<>(this, "idCol", "row-key column for ids and seeds; empty = hash of the request");
    defaultParams = new Param<>(this, "defaultParams", "default request parameters, a JSON object");
    window = new IntParam(this, "window", "rows each task keeps in flight (>= 1)");
    jobSeed = new LongParam(this, "jobSeed", "job seed for rows without their own seed");
    created = new LongParam(this, "created", "epoch seconds for 'created'; 0 = time of transform()");
    setDefault(device, "auto");
    setDefault(dtype, "auto");
    setDefault(modelOptions, "{}");
    setDefault(inputCol, defaultInputCol);
    setDefault(responseCol, "response");
    setDefault(errorCol, "error");
    setDefault(paramsCol, "");
    setDefault(idCol, "");
    setDefault(defaultParams, "{}");
    setDefault(window, LlmBatchOptions.WINDOW_DEFAULT);
    setDefault(jobSeed, 0L);
    setDefault(created, 0L);
  }

  /** The endpoint this transformer serves. */
  protected abstract Endpoint endpoint();

  @Override
  public String uid() {
    return uid;
  }

  protected static String newUid(String prefix) {
    return Identifiable$.MODULE$.randomUID(prefix);
  }

  // ---- Params (public accessors: spark.ml finds Params by reflection on these) ----
  public Param<String> modelUri() { return modelUri; }
  public Param<String> device() { return device; }
  public Param<String> dtype() { return dtype; }
  public Param<String> modelOptions() { return modelOptions; }
  public Param<String> inputCol() { return inputCol; }
  public Param<String> responseCol() { return responseCol; }
  public Param<String> errorCol() { return errorCol; }
  public Param<String> paramsCol() { return paramsCol; }
  public StringArrayParam paramCols() { return paramCols; }
  public Param<String> idCol() { return idCol; }
  public Param<String> defaultParams() { return defaultParams; }
  public IntParam window() { return window; }
  public LongParam jobSeed() { return jobSeed; }
  public LongParam created() { return created; }

  // ---- setters ----
  public LlmTransformer setModelUri(String v) { set(modelUri, v); return this; }
  public LlmTransformer setDevice(String v) { set(device, v); return this; }
  public LlmTransformer setDtype(String v) { set(dtype, v); return this; }
  public LlmTransformer setInputCol(String v) { set(inputCol, v); return this; }
  public LlmTransformer setResponseCol(String v) { set(responseCol, v); return this; }
  public LlmTransformer setErrorCol(String v) { set(errorCol, v); return this; }
  public LlmTransformer setParamsCol(String v) { set(paramsCol, v); return this; }
  public LlmTransformer setParamCols(String... v) { set(paramCols, v); return this; }
  public LlmTransformer setIdCol(String v) { set(idCol, v); return this; }
  public LlmTransformer setWindow(int v) { set(window, v); return this; }
  public LlmTransformer setJobSeed(long v) { set(jobSeed, v); return this; }
  public LlmTransformer setCreated(long v) { set(created, v); return this; }

  /** Default request parameters as a JSON object, e.g. {@code {"max_tokens": 64}}. */
  public LlmTransformer setDefaultParams(String json) {
    set(defaultParams, json);
    return this;
  }

  /** One default request parameter (merged into {@link #defaultParams()}). */
  public LlmTransformer setDefaultParam(String name, Object value) {
    ObjectNode o = (ObjectNode) readObject("defaultParams", getOrDefault(defaultParams));
    o.set(name, JsonRows.toJson(value));
    set(defaultParams, o.toString());
    return this;
  }

  /** Engine and cache options (see {@link LlmBatchOptions}), all at once. */
  public LlmTransformer setModelOptions(Map<String, String> options) {
    set(modelOptions, JsonRows.MAPPER.valueToTree(options).toString());
    return this;
  }

  /** One engine or cache option. */
  public LlmTransformer setModelOption(String key, String value) {
    ObjectNode o = (ObjectNode) readObject("modelOptions", getOrDefault(modelOptions));
    o.put(key, value);
    set(modelOptions, o.toString());
    return this;
  }

  /** Where {@link #transform} adds rows, errors, tokens and loads (driver side; not a Param). */
  public LlmTransformer setMetrics(LlmBatchMetrics m) {
    this.metrics = m;
    return this;
  }

  /** The model handle the Params describe. */
  public ModelHandle modelHandle() {
    if (!isDefined(modelUri)) {
      throw new UdfException("Cannot run " + getClass().getSimpleName() + ": modelUri is not set");
    }
    JsonNode o = readObject("modelOptions", getOrDefault(modelOptions));
    Map<String, String> opts = new LinkedHashMap<>();
    o.fields().forEachRemaining(e -> opts.put(e.getKey(), e.getValue().asText()));
    return new ModelHandle(getOrDefault(modelUri), getOrDefault(device), getOrDefault(dtype), opts);
  }

  /** The transform spec the Params describe. */
  public TransformSpec spec() {
    List<String> cols = isDefined(paramCols) ? Arrays.asList(getOrDefault(paramCols)) : null;
    String pc = getOrDefault(paramsCol);
    String id = getOrDefault(idCol);
    return new TransformSpec(endpoint(), modelHandle(), getOrDefault(inputCol),
        pc.isBlank() ? null : pc, cols, id.isBlank() ? null : id, getOrDefault(defaultParams),
        getOrDefault(responseCol), getOrDefault(errorCol), (Integer) getOrDefault(window),
        (Long) getOrDefault(jobSeed), (Long) getOrDefault(created));
  }

  @Override
  @SuppressWarnings("unchecked")
  public Dataset<Row> transform(Dataset<?> dataset) {
    return LlmBatch.transform((Dataset<Row>) dataset.toDF(), spec(), metrics);
  }

  @Override
  public StructType transformSchema(StructType schema) {
    return LlmBatch.outputSchema(schema, spec());
  }

  @Override
  public LlmTransformer copy(ParamMap extra) {
    LlmTransformer t = (LlmTransformer) defaultCopy(extra);
    t.metrics = metrics;
    return t;
  }

  private static JsonNode readObject(String what, String json) {
    try {
      JsonNode n = JsonRows.MAPPER.readTree(json);
      if (n != null && n.isObject()) {
        return n;
      }
    } catch (IOException e) {
      throw new UdfException("Invalid " + what + ": malformed JSON " + json + ": " + e.getMessage(), e);
    }
    throw new UdfException("Invalid " + what + ": " + json + " is not a JSON object");
  }
}
