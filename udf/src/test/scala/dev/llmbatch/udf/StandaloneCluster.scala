package dev.llmbatch.udf

import java.io.File
import java.lang.management.ManagementFactory
import java.net.{InetSocketAddress, ServerSocket, Socket}
import java.nio.file.{Files, Path, Paths}

import org.apache.spark.sql.SparkSession
import scala.jdk.CollectionConverters._

/**
 * A real Spark standalone cluster for tests: one Master and `workers` Worker JVMs on 127.0.0.1,
 * launched from the test classpath (the Maven jars), each Worker starting its own executor JVMs.
 * The test JVM is the driver; executors get the same classpath via spark.executor.extraClassPath.
 */
final class StandaloneCluster(workers: Int, coresPerWorker: Int,
    workerConf: Map[String, String] = Map.empty, workerEnv: Map[String, String] = Map.empty)
    extends AutoCloseable {
  val classpath: String =
    sys.props.get("surefire.test.class.path").filter(_.nonEmpty).getOrElse(sys.props("java.class.path"))
  val home: Path = TempDirs.create("llm-batch-spark-home-")
  Files.createDirectories(home.resolve("jars")) // Spark's launcher wants $SPARK_HOME/jars to exist

  /** Flags the executors and daemons need: module opens, offline DJL. */
  val jvmFlags: Seq[String] = ManagementFactory.getRuntimeMXBean.getInputArguments.asScala.toSeq.filter { a =>
    a.startsWith("--add-opens") || a.startsWith("-Dai.djl") || a.startsWith("-Djdk.reflect") ||
      a.startsWith("-Dio.netty") || a == "-XX:+IgnoreUnrecognizedVMOptions"
  }

  private val masterPort = StandaloneCluster.freePort()
  val masterUrl: String = s"spark://127.0.0.1:$masterPort"
  private var processes: List[Process] = Nil

  start()

  private def start(): Unit = {
    processes ::= launch("master", "org.apache.spark.deploy.master.Master", Nil, Map.empty,
      Seq("--host", "127.0.0.1", "--port", masterPort.toString,
        "--webui-port", StandaloneCluster.freePort().toString))
    StandaloneCluster.awaitPort(masterPort, 60000, () => log("master"))
    for (i <- 0 until workers) {
      val work = Files.createDirectories(home.resolve(s"work-$i"))
      processes ::= launch(s"worker-$i", "org.apache.spark.deploy.worker.Worker",
        workerConf.map { case (k, v) => s"-D$k=$v" }.toSeq, workerEnv, Seq("--host", "127.0.0.1", "--cores", coresPerWorker.toString, "--memory", "2g",
          "--webui-port", StandaloneCluster.freePort().toString, "--work-dir", work.toString, masterUrl))
    }
  }

  private def launch(name: String, mainClass: String, sysProps: Seq[String],
      extraEnv: Map[String, String], args: Seq[String]): Process = {
    val java = Paths.get(sys.props("java.home"), "bin", "java").toString
    // Daemons only route messages: a small heap and the quick JIT start fastest on a busy machine.
    val cmd = Seq(java, "-Xmx384m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC") ++ jvmFlags ++ sysProps ++ Seq("-cp", classpath, mainClass) ++ args
    val pb = new ProcessBuilder(cmd.asJava)
    val env = pb.environment()
    env.put("SPARK_HOME", home.toString)
    env.put("SPARK_SCALA_VERSION", "2.13")
    env.put("SPARK_LOCAL_IP", "127.0.0.1")
    env.put("SPARK_LOCAL_DIRS", Files.createDirectories(home.resolve(s"local-$name")).toString)
    extraEnv.foreach { case (k, v) => env.put(k, v) }
    pb.redirectErrorStream(true)
    pb.redirectOutput(home.resolve(s"$name.log").toFile)
    pb.start()
  }

  /**
   * A driver session on this cluster (loopback, no UI, no AQE; executors get the test classpath
   * and JVM flags) with {@code conf} on top, returned once {@code executors} block managers (the
   * driver's included) have registered, or failing with the worker and executor logs after 120 s.
   */
  def session(appName: String, executors: Int, conf: (String, String)*): SparkSession = {
    val builder = SparkSession.builder()
      .master(masterUrl)
      .appName(appName)
      .config("spark.ui.enabled", "false")
      .config("spark.driver.host", "127.0.0.1")
      .config("spark.driver.bindAddress", "127.0.0.1")
      .config("spark.executor.memory", "1g")
      .config("spark.executor.extraClassPath", classpath)
      .config("spark.executor.extraJavaOptions", (jvmFlags :+ "-XX:TieredStopAtLevel=1").mkString(" "))
      .config("spark.sql.adaptive.enabled", "false")
    conf.foreach { case (k, v) => builder.config(k, v) }
    val session = builder.getOrCreate()
    val deadline = System.currentTimeMillis() + 120000
    while (session.sparkContext.statusTracker.getExecutorInfos.length < executors) {
      if (System.currentTimeMillis() > deadline) {
        session.stop()
        throw new IllegalStateException(s"$executors block managers did not register within" +
          s" 120 s\n${log("worker-0")}\n$executorLogs")
      }
      Thread.sleep(500)
    }
    session
  }

  /** The log of one daemon (for failure messages). */
  def log(name: String): String = {
    val f = home.resolve(s"$name.log")
    if (Files.exists(f)) new String(Files.readAllBytes(f)).takeRight(4000) else "(no log)"
  }

  /** The stderr of every executor the workers started, the last 3,000 characters of each. */
  def executorLogs: String = executorLogs(3000)

  /** The stderr of every executor the workers started, the last {@code tail} characters of each. */
  def executorLogs(tail: Int): String = {
    val files = Files.walk(home).iterator().asScala.filter(p => p.getFileName.toString == "stderr").toSeq
    files.map(p => s"== $p\n" + new String(Files.readAllBytes(p)).takeRight(tail)).mkString("\n")
  }

  /** Stops {@code session} (if any) and the shared local session, then the cluster. */
  def shutdown(session: SparkSession): Unit = {
    try {
      if (session != null) session.stop()
      SharedSpark.stop()
    } finally {
      close()
    }
  }

  override def close(): Unit = {
    for (p <- processes) {
      p.descendants().forEach(d => d.destroy())
      p.destroy()
    }
    for (p <- processes) {
      if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
        p.descendants().forEach(d => d.destroyForcibly())
        p.destroyForcibly()
      }
    }
  }
}

object StandaloneCluster {
  def freePort(): Int = {
    val s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))
    try s.getLocalPort finally s.close()
  }

  def awaitPort(port: Int, timeoutMs: Long, log: () => String): Unit = {
    val deadline = System.currentTimeMillis() + timeoutMs
    while (true) {
      val s = new Socket()
      try {
        s.connect(new InetSocketAddress("127.0.0.1", port), 500)
        return
      } catch {
        case _: java.io.IOException if System.currentTimeMillis() < deadline => Thread.sleep(250)
        case e: java.io.IOException =>
          throw new IllegalStateException(s"Spark daemon did not open port $port: $e\n${log()}")
      } finally s.close()
    }
  }
}
