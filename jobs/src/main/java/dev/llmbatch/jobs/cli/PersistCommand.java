package dev.llmbatch.jobs.cli;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.hf.HfCache;
import dev.llmbatch.flavor.lifecycle.ArtifactFiles;
import dev.llmbatch.flavor.lifecycle.LocalArtifactFiles;
import dev.llmbatch.flavor.lifecycle.ModelPersister;
import dev.llmbatch.flavor.uri.MlflowEnvironment;
import dev.llmbatch.flavor.uri.ModelUriResolver;
import dev.llmbatch.flavor.uri.ResolvedModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code llm-batch persist MODEL_URI}: copies a reference-only model's pinned snapshot from the
 * local Hugging Face cache into its artifact location (a local folder, or a Hadoop filesystem such
 * as s3a://) and rewrites MLmodel, as MLflow's {@code persist_pretrained_model} does; MLmodel is
 * replaced last and atomically, and nothing changes if a step fails.
 */
@Command(name = "persist", mixinStandardHelpOptions = true,
    description = "Copy a reference-only model's weights from the Hugging Face cache into its"
        + " artifact location (no-op when already persisted).")
public final class PersistCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "MODEL_URI",
      description = "Path, file:, s3a:// (or another Hadoop URI), dbfs:/, runs:/ or models:/ URI.")
  String modelUri;

  @Option(names = "--hf-cache", paramLabel = "DIR",
      description = "Hugging Face hub cache (default: HF_HUB_CACHE, HF_HOME/hub,"
          + " ~/.cache/huggingface/hub).")
  Path hfCache;

  @Option(names = "--hadoop-conf", paramLabel = "k=v",
      description = "Hadoop setting for Hadoop URIs, repeatable (e.g. fs.s3a.endpoint=...).")
  Map<String, String> hadoopConf = new LinkedHashMap<>();

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private final Map<String, String> env;

  /** Reads settings from the process environment. */
  public PersistCommand() {
    this(System.getenv());
  }

  /** Reads settings from {@code env} (tests). */
  public PersistCommand(Map<String, String> env) {
    this.env = env;
  }

  @Override
  public Integer call() {
    ResolvedModel resolved = new ModelUriResolver(MlflowEnvironment.of(env, Path.of("")))
        .resolve(modelUri);
    ArtifactFiles files = switch (resolved.kind()) {
      case LOCAL -> new LocalArtifactFiles(resolved.localPath());
      case HADOOP -> HadoopArtifactFiles.of(resolved.location(), hadoopConf);
      case MLFLOW_ARTIFACTS -> throw new FlavorException("Cannot persist " + modelUri + ": it"
          + " resolved to " + resolved.location() + ", proxied by the tracking server, which"
          + " this command does not upload to; persist the model where its artifact store is"
          + " reachable directly (s3a://, a path) or download, persist and log it again");
    };
    HfCache cache = hfCache != null ? HfCache.at(hfCache) : HfCache.fromEnvironment(env);
    ModelPersister.Result r = new ModelPersister(cache).persist(files);
    PrintWriter out = spec.commandLine().getOut();
    if (r.alreadyPersisted()) {
      out.printf("Already persisted: %s holds its weights (%s); nothing changed%n",
          resolved.location(), resolved.describe());
    } else {
      out.printf("Persisted %s into %s: %d files, %.1f MB%n", r.mlmodel().transformers()
          .sourceModelName(), resolved.location(), r.files(), r.bytes() / 1e6);
    }
    out.flush();
    return 0;
  }
}
