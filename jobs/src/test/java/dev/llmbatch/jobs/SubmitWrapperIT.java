package dev.llmbatch.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.flavor.sample.SampleModels;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spark-submit wrapper for real: a Spark standalone master and worker start from the Maven
 * jars; SPARK_HOME points at a layout whose {@code jars/} links those jars and whose
 * {@code bin/spark-submit} launches {@code org.apache.spark.deploy.SparkSubmit} from them; the
 * wrapper submits a completions job with the shaded jar, which runs on the worker's executor.
 */
class SubmitWrapperIT {
  private static final List<String> OPENS = List.of("java.lang", "java.lang.invoke",
      "java.lang.reflect", "java.io", "java.net", "java.nio", "java.util", "java.util.concurrent",
      "java.util.concurrent.atomic", "jdk.internal.ref", "sun.nio.ch", "sun.nio.cs",
      "sun.security.action", "sun.util.calendar");

  @TempDir Path tmp;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void stop() throws InterruptedException {
    for (Process p : started) {
      p.descendants().forEach(ProcessHandle::destroy);
      p.destroy();
      p.waitFor(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void completionsJobRunsOnAStandaloneClusterThroughTheWrapper() throws Exception {
    Path repo = Path.of(System.getProperty("llmbatch.repo.dir", "..")).toAbsolutePath();
    Path target = repo.resolve("jobs/target");
    Path shaded;
    try (Stream<Path> s = Files.list(target)) {
      shaded = s.filter(p -> p.getFileName().toString().endsWith("-spark.jar")).findFirst()
          .orElseThrow(() -> new AssertionError("no shaded jar in " + target
              + ": run the failsafe phase after package"));
    }
    Path sparkHome = fakeSparkHome(target.resolve("classpath-provided.txt"),
        target.resolve("classpath-runtime.txt"));

    int masterPort = freePort();
    String master = "spark://127.0.0.1:" + masterPort;
    start(sparkHome, "master.log", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
        "--port", Integer.toString(masterPort), "--webui-port", Integer.toString(freePort()));
    waitForPort(masterPort, "master.log", started.get(0));
    start(sparkHome, "worker.log", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
        "--cores", "2", "--memory", "2g", "--webui-port", Integer.toString(freePort()),
        "--work-dir", tmp.resolve("work").toString(), master);

    Path model = SampleModels.writePipelineChatModel(tmp.resolve("model"), 5);
    Path input = tmp.resolve("prompts.jsonl");
    Files.writeString(input, "{\"id\":\"a\",\"prompt\":\"hello world\"}\n"
        + "{\"id\":\"b\",\"prompt\":\"the world is\"}\n{\"id\":\"c\",\"prompt\":\"hello\"}\n");
    Path out = tmp.resolve("out");

    ProcessBuilder pb = new ProcessBuilder(repo.resolve("submit-scripts/submit-completions")
        .toString(), "--master", master, "--conf", "spark.executor.memory=1g",
        "--conf", "spark.ui.enabled=false", "--model", model.toString(), "--input",
        input.toString(), "--id-col", "id", "--output", out.toString(), "--max-tokens", "2",
        "--progress", "false");
    pb.environment().put("SPARK_HOME", sparkHome.toString());
    pb.environment().put("LLM_BATCH_JAR", shaded.toString());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    pb.environment().remove("GLIBC_TUNABLES"); // the wrapper sets it
    // an engine switch set for the wrapper reaches the executors (spark.executorEnv): this one
    // keeps the tiny model's attention and norms on libtorch's ops, and the executor says so
    pb.environment().put("LLM_BATCH_CPU_KERNELS", "0");
    Path log = tmp.resolve("submit.log");
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    Process submit = pb.start();
    started.add(submit);
    boolean done = submit.waitFor(8, TimeUnit.MINUTES);
    String text = Files.readString(log);
    assertTrue(done, "spark-submit did not finish:\n" + tail(text));
    assertEquals(0, submit.exitValue(), tail(text));

    JsonNode summary = new ObjectMapper().readTree(out.resolve("_llm_batch_summary.json").toFile());
    assertEquals("succeeded", summary.get("status").asText());
    assertEquals(3, summary.get("rows_out").asLong());
    assertEquals(0, summary.get("error_rows").asLong());
    assertEquals(master, summary.get("spark_master").asText());
    assertTrue(summary.get("completion_tokens").asLong() > 0);
    try (Stream<Path> s = Files.list(out)) {
      assertTrue(s.anyMatch(p -> p.getFileName().toString().endsWith(".parquet")));
    }
    // The rows were served on the worker's executor, not in the driver, by an executor the
    // wrapper gave the launchers' glibc malloc settings (spark.executorEnv.GLIBC_TUNABLES).
    assertTrue(executorLogSays("partition done"), "no executor log reports a served partition");
    assertTrue(executorLogSays("glibc malloc keeps libtorch's temporaries mapped"),
        "no executor log says it runs with the launchers' GLIBC_TUNABLES");
    assertTrue(executorLogSays("turned off (LLM_BATCH_CPU_KERNELS=0"),
        "no executor log says LLM_BATCH_CPU_KERNELS=0, set for the wrapper, reached it");
  }

  /** Whether some executor's stderr under the worker's work dir contains {@code text}. */
  private boolean executorLogSays(String text) throws IOException {
    try (Stream<Path> s = Files.walk(tmp.resolve("work"))) {
      return s.filter(p -> p.getFileName().toString().equals("stderr")).anyMatch(p -> {
        try {
          return Files.readString(p).contains(text);
        } catch (IOException e) {
          return false;
        }
      });
    }
  }

  /**
   * SPARK_HOME with jars/ linking the Maven Spark jars (and the Spark dependencies the build
   * resolved at compile scope) and a bin/spark-submit over them.
   */
  private Path fakeSparkHome(Path providedClasspath, Path runtimeClasspath) throws IOException {
    Path home = tmp.resolve("spark-home");
    Path jars = Files.createDirectories(home.resolve("jars"));
    List<String> all = new ArrayList<>(List.of(Files.readString(providedClasspath).trim()
        .split(":")));
    // Spark's own dependencies that the build resolved at compile scope (netty via the AWS SDK,
    // Jackson and commons via flavor, ...) ship in a distribution's jars/ too; what only the
    // shaded jar carries (our code, DJL, the AWS SDK, Jinjava, picocli) stays out.
    List<String> ours = List.of("/target/", "/dev/llmbatch/", "/ai/djl/", "/software/amazon/",
        "/org/apache/hadoop/hadoop-aws/", "/com/hubspot/", "/info/picocli/", "/me/tongfei/");
    for (String jar : Files.readString(runtimeClasspath).trim().split(":")) {
      if (ours.stream().noneMatch(jar::contains)) {
        all.add(jar);
      }
    }
    for (String jar : all) {
      Path j = Path.of(jar);
      Path link = jars.resolve(j.getFileName());
      if (!Files.exists(link)) {
        Files.createSymbolicLink(link, j);
      }
    }
    Path bin = Files.createDirectories(home.resolve("bin"));
    Path submit = bin.resolve("spark-submit");
    Files.writeString(submit, "#!/usr/bin/env bash\n"
        + "exec \"" + javaBin() + "\" " + String.join(" ", jvmFlags())
        + " -cp \"$SPARK_HOME/jars/*\" org.apache.spark.deploy.SparkSubmit \"$@\"\n");
    submit.toFile().setExecutable(true);
    Files.createDirectories(home.resolve("conf"));
    // A RELEASE file marks a binary distribution: the launcher then takes jars/ as the classpath.
    Files.writeString(home.resolve("RELEASE"), "Spark 4.1.1 (jars from the Maven build)\n");
    return home;
  }

  private void start(Path sparkHome, String logName, String mainClass, String... args)
      throws IOException {
    List<String> cmd = new ArrayList<>(List.of(javaBin(), "-Xmx512m"));
    cmd.addAll(jvmFlags());
    cmd.addAll(List.of("-cp", sparkHome.resolve("jars") + "/*", mainClass));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("SPARK_HOME", sparkHome.toString());
    pb.environment().put("SPARK_SCALA_VERSION", "2.13");
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    // executors must get the malloc settings from the wrapper's spark.executorEnv, not from here
    pb.environment().remove("GLIBC_TUNABLES");
    pb.redirectErrorStream(true).redirectOutput(tmp.resolve(logName).toFile());
    started.add(pb.start());
  }

  private static List<String> jvmFlags() {
    List<String> f = new ArrayList<>(List.of("-XX:+IgnoreUnrecognizedVMOptions"));
    OPENS.forEach(p -> f.add("--add-opens=java.base/" + p + "=ALL-UNNAMED"));
    return f;
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private void waitForPort(int port, String logName, Process owner) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
    while (System.nanoTime() < deadline && owner.isAlive()) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 500);
        return;
      } catch (IOException e) {
        Thread.sleep(500);
      }
    }
    throw new AssertionError("no process listens on " + port + ":\n"
        + tail(Files.readString(tmp.resolve(logName))));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static String tail(String s) {
    return s.length() > 6000 ? s.substring(s.length() - 6000) : s;
  }
}
