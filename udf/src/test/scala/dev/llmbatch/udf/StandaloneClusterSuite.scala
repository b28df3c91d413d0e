package dev.llmbatch.udf

import java.nio.file.Files

import dev.llmbatch.udf.executor.ExecutorModels
import dev.llmbatch.udf.metrics.LlmBatchMetrics
import dev.llmbatch.udf.ml.LlmChatTransformer
import dev.llmbatch.udf.sql.LlmFunctions
import org.apache.spark.SparkEnv
import org.apache.spark.sql.{Row, SparkSession}
import org.apache.spark.sql.functions.{col, spark_partition_id}
import org.junit.runner.RunWith
import org.scalatestplus.junit.JUnitRunner

/**
 * A real standalone cluster (Master + 2 Workers, 2 cores each, separate executor JVMs): with 16
 * partitions each executor loads the model exactly once, both executors share the host's model
 * cache, and the output is complete. A second job on the same executors loads nothing.
 */
@RunWith(classOf[JUnitRunner])
class StandaloneClusterSuite extends SparkSuiteBase {
  private var cluster: StandaloneCluster = _
  private var session: SparkSession = _

  override def beforeAll(): Unit = {
    SharedSpark.stop()
    cluster = new StandaloneCluster(workers = 2, coresPerWorker = 2)
    // the driver and the 2 executors
    session = cluster.session("llm-batch-cluster-suite", executors = 3,
      "spark.executor.cores" -> "2",
      "spark.cores.max" -> "4")
  }

  override def afterAll(): Unit = if (cluster != null) cluster.shutdown(session)

  test("executors run the udf module's classes from the test classpath") {
    val ids = session.sparkContext.parallelize(1 to 8, 8).mapPartitions { _ =>
      Iterator((SparkEnv.get.executorId, ExecutorModels.totalLoads()))
    }.collect()
    assert(ids.map(_._1).toSet.size == 2, ids.mkString(", "))
  }

  test("each executor loads the model once; 16 partitions, every row answered") {
    val s = session
    val metrics = LlmBatchMetrics.register(s.sparkContext)
    val cacheDir = TempDirs.create("llm-batch-cluster-cache-")
    // From a range, not a local Seq: Spark folds functions over local relations on the driver.
    val input = s.range(0, 64, 1, 16).selectExpr("concat('row-', id) AS id",
      """concat('[{"role":"user","content":"Question number ', id, '?"}]') AS messages""")
    val chat = new LlmChatTransformer()
      .setModelUri(TestModels.chat.toUri.toString)
      .setModelOption("copyLocal", "true") // both executors race to copy into one host cache
      .setModelOption("cacheDir", cacheDir.toString)
      .setIdCol("id")
      .setDefaultParams("""{"max_tokens": 3, "temperature": 0}""")
      .setWindow(8)
      .asInstanceOf[LlmChatTransformer]
      .setMetrics(metrics)
    val out = chat.transform(input).select(col("id"), col("response"), col("error"),
      spark_partition_id().as("p")).collect()
    assert(out.length == 64)
    assert(out.map(_.getString(0)).toSet == (0 until 64).map(i => s"row-$i").toSet)
    val errors = out.filter(!_.isNullAt(2)).map(_.getStruct(2))
    assert(errors.isEmpty, errors.take(3).mkString("; ") + "\n" + cluster.executorLogs)
    assert(out.forall(r => r.getStruct(1).getString(0).startsWith("chatcmpl-")))
    // each executor JVM built (or found) and loaded a packed GEMM (the engine's own where the CPU
    // has AVX-512, else oneMKL's) for the LM head, and the fused CPU kernels for its layers
    val logs = cluster.executorLogs(Int.MaxValue)
    assert("linears use .* each weight is packed once".r.findAllMatchIn(logs).size >= 2,
      "both executors should say they pack their linears once:\n" + cluster.executorLogs)
    assert("run as fused native kernels".r.findAllMatchIn(logs).size >= 2,
      "both executors should say they run the fused CPU kernels:\n" + cluster.executorLogs)
    val loads = metrics.modelLoadsByExecutor()
    assert(loads.size() == 2, s"loads by executor: $loads")
    assert(loads.values().stream().allMatch(_ == 1L), s"loads by executor: $loads")
    assert(metrics.modelLoads() == 2)
    assert(metrics.rows() == 64)
    val copies = Files.list(cacheDir).iterator()
    var folders = 0
    while (copies.hasNext) if (Files.isDirectory(copies.next())) folders += 1
    assert(folders == 1, "both executors share one verified copy in the host cache")

    // A second job (SQL this time) reuses the executors' loaded models: no new loads.
    val again = LlmBatchMetrics.register(s.sparkContext, "llmbatch.second.")
    LlmFunctions.register(s, dev.llmbatch.udf.rows.Endpoint.CHAT, "llm_chat", chat.modelHandle(),
      """{"max_tokens": 2}""", 0L, again)
    input.createOrReplaceTempView("cluster_chats")
    val n = s.sql("SELECT id, llm_chat(messages) AS r FROM cluster_chats")
      .where("r.error IS NULL AND r.response IS NOT NULL").count()
    assert(n == 64)
    assert(again.modelLoads() == 0, s"second job loads: ${again.modelLoadsByExecutor()}")
  }
}
