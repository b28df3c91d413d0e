package dev.llmbatch.jobs.run;

import dev.llmbatch.engine.api.OpenAiJson;
import dev.llmbatch.flavor.uri.ModelUriResolver;
import dev.llmbatch.flavor.uri.ResolvedModel;
import dev.llmbatch.jobs.JobException;
import dev.llmbatch.jobs.config.JobConf;
import dev.llmbatch.udf.LlmBatch;
import dev.llmbatch.udf.LlmBatchOptions;
import dev.llmbatch.udf.ModelHandle;
import dev.llmbatch.udf.TransformSpec;
import dev.llmbatch.udf.rows.Endpoint;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The {@link ModelBinding} over the udf module: {@code runs:/} and {@code models:/} URIs are
 * resolved here on the driver (flavor.uri), then a {@link ModelHandle} travels to the executors,
 * each of which loads the model once and serves every task of the job from it.
 */
final class UdfBinding implements ModelBinding {
  private final ModelHandle handle;

  private UdfBinding(ModelHandle handle) {
    this.handle = handle;
  }

  static ModelBinding forConf(JobConf conf) {
    return new UdfBinding(new ModelHandle(location(conf.model()), conf.device(), conf.dtype(),
        Map.of()));
  }

  /** A storage location for {@code uri}: registry and run URIs resolved, the others as given. */
  static String location(String uri) {
    String u = uri.trim();
    String lower = u.toLowerCase(Locale.ROOT);
    if (!lower.startsWith("runs:/") && !lower.startsWith("models:/")) {
      return u;
    }
    ResolvedModel r = ModelUriResolver.fromSystem().resolve(u);
    if (r.kind() == ResolvedModel.Kind.MLFLOW_ARTIFACTS) {
      throw new JobException("Cannot serve model " + uri + ": it resolves to " + r.location()
          + ", proxied by the tracking server, which executors cannot read (download it with"
          + " `mlflow artifacts download -u " + uri + "` to shared storage and pass that path)");
    }
    return r.location();
  }

  @Override
  public Dataset<Row> serveTable(Dataset<Row> rows, JobConf conf, long created) {
    Endpoint endpoint;
    String inputCol;
    switch (conf.kind()) {
      case CHAT -> {
        endpoint = Endpoint.CHAT;
        inputCol = ChatInputs.MESSAGES;
      }
      case COMPLETIONS -> {
        endpoint = Endpoint.COMPLETIONS;
        inputCol = conf.columns().prompt();
      }
      case EMBEDDINGS -> {
        endpoint = Endpoint.EMBEDDINGS;
        inputCol = conf.columns().input();
      }
      default -> throw new JobException("Cannot serve a " + conf.kind().command()
          + " job as a table (batch files go through the batch command)");
    }
    Map<String, Object> defaults = new java.util.LinkedHashMap<>(conf.params().asOpenAi());
    if (conf.dimensions() != null) {
      defaults.put("dimensions", conf.dimensions());
    }
    long jobSeed = conf.params().seed() == null ? 0L : conf.params().seed();
    TransformSpec spec = new TransformSpec(endpoint, handle, inputCol, null, null,
        conf.columns().id(), OpenAiJson.write(defaults), conf.columns().response(),
        conf.columns().error(), LlmBatchOptions.WINDOW_DEFAULT, jobSeed, created);
    try {
      return LlmBatch.transform(rows, spec, null);
    } catch (RuntimeException e) {
      throw new JobException("Cannot serve the " + conf.kind().command() + " job: "
          + e.getMessage(), e);
    }
  }

  @Override
  public ModelHandle handle(JobConf conf) {
    return handle;
  }
}
