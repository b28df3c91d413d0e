package dev.llmbatch.jobs

import java.io.File
import java.net.{InetSocketAddress, ServerSocket, Socket}
import java.nio.file.{Files, Path}
import java.util.concurrent.TimeUnit

import scala.jdk.CollectionConverters._

import dev.llmbatch.flavor.sample.SampleModels
import dev.llmbatch.jobs.config.{JobConf, JobKind}
import dev.llmbatch.jobs.run.Jobs
import dev.llmbatch.jobs.summary.SummaryWriter
import org.apache.hadoop.fs.{Path => HPath}
import org.junit.runner.RunWith
import org.scalatestplus.junit.JUnitRunner

/**
 * s3a for real: an S3-compatible server (s3proxy, filesystem backend) runs in its own JVM on
 * 127.0.0.1; the model is read from s3a:// (copied once into the executor's cache) and the output
 * and its summary are written to s3a://.
 */
@RunWith(classOf[JUnitRunner])
class S3Suite extends JobsSparkBase {
  private val identity = "llm-batch-test"
  private val secret = "s3cr3t-never-logged-9f2c"
  private var proxy: Process = _
  private lazy val port: Int = { val s = new ServerSocket(0); try s.getLocalPort finally s.close() }

  override protected def extraConf: Map[String, String] = Map(
    "spark.hadoop.fs.s3a.endpoint" -> s"http://127.0.0.1:$port",
    "spark.hadoop.fs.s3a.endpoint.region" -> "us-east-1",
    "spark.hadoop.fs.s3a.path.style.access" -> "true",
    "spark.hadoop.fs.s3a.connection.ssl.enabled" -> "false",
    "spark.hadoop.fs.s3a.aws.credentials.provider" ->
      "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    "spark.hadoop.fs.s3a.access.key" -> identity,
    "spark.hadoop.fs.s3a.secret.key" -> secret,
    "spark.llmbatch.cacheDir" -> tmpRoot.resolve("model-cache").toString)

  override protected def beforeAll(): Unit = {
    val base = Files.createDirectories(tmpRoot.resolve("s3"))
    Files.createDirectories(base.resolve("bucket"))
    val props = tmpRoot.resolve("s3proxy.properties")
    Files.writeString(props, Seq(
      s"s3proxy.endpoint=http://127.0.0.1:$port",
      "s3proxy.authorization=aws-v2-or-v4",
      s"s3proxy.identity=$identity",
      s"s3proxy.credential=$secret",
      "jclouds.provider=filesystem",
      s"jclouds.filesystem.basedir=$base").mkString("\n"))
    val javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString
    val pb = new ProcessBuilder(javaBin, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
      "org.gaul.s3proxy.Main", "--properties", props.toString)
    pb.environment().put("LOG_LEVEL", "info")
    pb.redirectErrorStream(true).redirectOutput(tmpRoot.resolve("s3proxy.log").toFile)
    proxy = pb.start()
    val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120)
    var up = false
    while (!up) {
      assert(proxy.isAlive, "s3proxy exited: " + Files.readString(tmpRoot.resolve("s3proxy.log")))
      assert(System.nanoTime() < deadline, "s3proxy did not listen on port " + port)
      up = try { val s = new Socket(); s.connect(new InetSocketAddress("127.0.0.1", port), 500); s.close(); true }
      catch { case _: java.io.IOException => Thread.sleep(300); false }
    }
    super.beforeAll()
  }

  override protected def afterAll(): Unit = {
    try super.afterAll()
    finally if (proxy != null) { proxy.destroy(); proxy.waitFor(10, TimeUnit.SECONDS) }
  }

  test("a completions job reads its model and input from s3a and writes output and summary there") {
    val local = SampleModels.writePipelineChatModel(dir("model"), 3)
    val hadoop = spark.sparkContext.hadoopConfiguration
    val modelUri = "s3a://bucket/models/sample-chat"
    val fs = new HPath(modelUri).getFileSystem(hadoop)
    fs.copyFromLocalFile(false, true, new HPath(local.toUri), new HPath(modelUri))
    assert(fs.exists(new HPath(modelUri + "/MLmodel")))

    val s = spark
    import s.implicits._
    (1 to 5).map(i => (s"k$i", s"hello world $i")).toDF("id", "prompt")
      .write.parquet("s3a://bucket/in/prompts")
    val out = "s3a://bucket/out/completions"
    val summary = Jobs.run(spark, JobConf.resolve(JobKind.COMPLETIONS, Map[String, Object](
      "model" -> modelUri, "input" -> "s3a://bucket/in/prompts", "output" -> out,
      "id-col" -> "id", "max-tokens" -> Integer.valueOf(2), "progress" -> "false").asJava,
      Map.empty[String, Object].asJava))
    assert(summary.rowsOut == 5 && summary.errorRows == 0, summary.render())

    val back = spark.read.parquet(out)
    assert(back.count() == 5)
    assert(back.where("response.object = 'text_completion'").count() == 5)
    val written = SummaryWriter.read(out + "/_llm_batch_summary.json", hadoop)
    assert(written.rowsOut == 5 && written.model == modelUri)
    // The model was fetched through s3a into the executor's local cache.
    val cache = tmpRoot.resolve("model-cache").toFile
    assert(cache.isDirectory && cache.listFiles().nonEmpty)
    // Credentials never reach the summary or the server-side object names.
    assert(!SummaryWriter.toJson(written).contains(secret))
    assert(!Files.walk(tmpRoot.resolve("s3")).iterator().asScala.exists(_.toString.contains(secret)))
  }
}
