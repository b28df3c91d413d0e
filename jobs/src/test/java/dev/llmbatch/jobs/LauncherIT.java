package dev.llmbatch.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@code submit-scripts/llm-batch} for real, after {@code package}: a fresh JVM with the
 * launcher's classpath and flags, on generated models; and the shaded spark jar on Spark's
 * classpath only, as spark-submit would run it.
 */
class LauncherIT {
  @TempDir static Path tmp;
  static Path repo;

  record Result(int code, String out, String err) {}

  @BeforeAll
  static void findRepo() {
    String dir = System.getProperty("llmbatch.repo.dir");
    if (dir == null || !Files.isRegularFile(Path.of(dir, "submit-scripts/llm-batch"))) {
      throw new IllegalStateException("Cannot find submit-scripts/llm-batch: system property"
          + " llmbatch.repo.dir (" + dir + ") must name the repository root; run through"
          + " `mvn verify`, which sets it");
    }
    repo = Path.of(dir);
  }

  static Result exec(List<String> command, Map<String, String> env) throws IOException,
      InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command).directory(repo.toFile());
    pb.environment().putAll(env);
    pb.environment().remove("LLM_BATCH_REBUILD");
    Path out = Files.createTempFile(tmp, "out", ".txt");
    Path err = Files.createTempFile(tmp, "err", ".txt");
    pb.redirectOutput(out.toFile()).redirectError(err.toFile());
    Process p = pb.start();
    if (!p.waitFor(300, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("timed out: " + command);
    }
    return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  static Result launcher(Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("bash", repo.resolve("submit-scripts/llm-batch").toString()));
    cmd.addAll(List.of(args));
    return exec(cmd, env);
  }

  @Test
  void inspectsPipelineAndReferenceOnlyModelsAsJson() throws Exception {
    Path chat = FlavorFixtures.pipelineChatModel(tmp.resolve("chat"));
    Result r = launcher(Map.of(), "inspect", chat.toString(), "--json");
    assertEquals(0, r.code(), r.err());
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertEquals("PIPELINE", j.get("layout").asText());
    assertEquals("llm/v1/chat", j.get("inference_task").asText());
    assertEquals("LlamaForCausalLM", j.get("architecture").asText());
    assertEquals("llama", j.get("model_type").asText());
    assertTrue(j.get("chat_template").asBoolean());
    assertEquals(chat.resolve("model").toString(), j.get("weights_path").asText());

    Path cache = tmp.resolve("hub");
    Path ref = FlavorFixtures.referenceOnlyChatModel(tmp.resolve("ref"), cache);
    Result rr = launcher(Map.of("HF_HUB_CACHE", cache.toString()), "inspect", ref.toUri().toString(), "--json");
    assertEquals(0, rr.code(), rr.err());
    JsonNode jr = new ObjectMapper().readTree(rr.out());
    assertEquals("REFERENCE_ONLY", jr.get("layout").asText());
    assertEquals("BF16", jr.get("dtype").get("stored").asText());
    assertTrue(jr.get("weights_path").asText().startsWith(cache.toString()));
  }

  @Test
  void missingSnapshotFailsWithOneLine() throws Exception {
    Path ref = FlavorFixtures.referenceOnlyChatModel(tmp.resolve("ref2"), tmp.resolve("hub2"));
    Path empty = tmp.resolve("empty-hub");
    Result r = launcher(Map.of("HF_HUB_CACHE", empty.toString()), "inspect", ref.toString());
    assertEquals(1, r.code());
    assertEquals("", r.out());
    String line = r.err().strip();
    assertEquals(1, line.lines().count(), r.err());
    assertTrue(line.contains(empty.resolve("models--acme--tiny-llama-chat/snapshots/"
        + FlavorFixtures.REVISION).toString()) && line.contains("llm-batch persist"), line);
  }

  /**
   * The launchers' staleness check (submit-scripts/stale-jar.sh) over a checkout-shaped tree: a
   * jar older than a module's source or a pom.xml is stale and the check names that file; test
   * sources, docs and the build's own output are not inputs of the jar.
   */
  @Test
  void aJarOlderThanItsSourcesIsStale() throws Exception {
    Path root = tmp.resolve("checkout");
    Path jar = root.resolve("jobs/target/llm-batch-jobs-0.1.0.jar");
    Path source = root.resolve("engine/src/main/java/dev/llmbatch/engine/X.java");
    Path test = root.resolve("engine/src/test/java/dev/llmbatch/engine/XTest.java");
    Path pom = root.resolve("udf/pom.xml");
    Path readme = root.resolve("README.md");
    for (Path f : List.of(jar, source, test, pom, readme, root.resolve("pom.xml"))) {
      Files.createDirectories(f.getParent());
      Files.writeString(f, f.getFileName().toString());
    }
    long built = System.currentTimeMillis();
    FileTime before = FileTime.fromMillis(built - 60_000);
    FileTime after = FileTime.fromMillis(built + 60_000);
    Files.setLastModifiedTime(jar, FileTime.fromMillis(built));
    for (Path f : List.of(source, test, pom, readme, root.resolve("pom.xml"))) {
      Files.setLastModifiedTime(f, before);
    }
    assertEquals("", stale(jar, root), "every input is older than the jar");

    Files.setLastModifiedTime(test, after); // a test, a doc: not in the jar
    Files.setLastModifiedTime(readme, after);
    assertEquals("", stale(jar, root));

    Files.setLastModifiedTime(source, after);
    assertEquals(source.toString(), stale(jar, root));
    Files.setLastModifiedTime(source, before);
    Files.setLastModifiedTime(pom, after);
    assertEquals(pom.toString(), stale(jar, root));

    // no sources at all (an unpacked release): never stale
    Path bare = tmp.resolve("release");
    Path bareJar = bare.resolve("jobs/target/llm-batch-jobs-0.1.0.jar");
    Files.createDirectories(bareJar.getParent());
    Files.writeString(bareJar, "jar");
    assertEquals("", stale(bareJar, bare));
  }

  private static String stale(Path jar, Path root) throws Exception {
    Result r = exec(List.of("bash", "-c", "source \"$0\" && llm_batch_stale_source \"$1\" \"$2\"",
        repo.resolve("submit-scripts/stale-jar.sh").toString(), jar.toString(), root.toString()),
        Map.of());
    assertEquals(0, r.code(), r.err());
    assertEquals("", r.err());
    return r.out().strip();
  }

  @Test
  void shadedSparkJarRunsOnSparksClasspath() throws Exception {
    Path target = repo.resolve("jobs/target");
    Path shaded;
    try (Stream<Path> s = Files.list(target)) {
      shaded = s.filter(p -> p.getFileName().toString().endsWith("-spark.jar")).findFirst()
          .orElseThrow(() -> new AssertionError("no *-spark.jar in " + target));
    }
    String provided = Files.readString(target.resolve("classpath-provided.txt")).strip();
    // Spark's distribution also carries the Jackson and slf4j the shaded jar leaves out; in this
    // build they resolve to compile scope, so take them from the runtime list.
    StringBuilder sparkShips = new StringBuilder(provided);
    for (String e : Files.readString(target.resolve("classpath-runtime.txt")).strip()
        .split(File.pathSeparator)) {
      String name = Path.of(e).getFileName().toString();
      if (name.startsWith("jackson-core-") || name.startsWith("jackson-databind-")
          || name.startsWith("jackson-annotations-") || name.startsWith("slf4j-api-")) {
        sparkShips.append(File.pathSeparator).append(e);
      }
    }
    Path model = FlavorFixtures.pipelineEmbeddingModel(tmp.resolve("emb"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Result r = exec(List.of(java, "-cp", shaded + File.pathSeparator + sparkShips,
        "dev.llmbatch.jobs.LlmBatchCli", "inspect", model.toString(), "--json"), Map.of());
    assertEquals(0, r.code(), r.err());
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertEquals("llm/v1/embeddings", j.get("inference_task").asText());
    assertEquals("BertTokenizerFast", j.get("tokenizer").asText());
  }
}
