package dev.llmbatch.udf

import java.nio.file.{Files, Paths}

import scala.jdk.CollectionConverters._

import dev.llmbatch.udf.executor.{ExecutorModels, ModelKey, TaskDevices}
import dev.llmbatch.udf.metrics.LlmBatchMetrics
import dev.llmbatch.udf.ml.LlmEmbeddingTransformer
import org.apache.spark.{SparkEnv, SparkException}
import org.apache.spark.sql.SparkSession
import org.junit.runner.RunWith
import org.scalatestplus.junit.JUnitRunner

/**
 * GPU placement without a GPU: a real standalone cluster whose Worker offers one `gpu` found by
 * conf/gpu-discovery.sh (over a stand-in `nvidia-smi` printing ordinal 0), an application asking
 * for 1 GPU per executor and 0.5 per task, so two tasks share GPU 0. The tasks see address 0,
 * `auto` resolves to gpu:0, the CPU-only libtorch refuses gpu:0 with what to install, and with
 * cpuFallback=true the tasks sharing GPU 0 share one model keyed by gpu:0, loaded once, on CPU.
 */
@RunWith(classOf[JUnitRunner])
class GpuPlacementSuite extends SparkSuiteBase {
  private var cluster: StandaloneCluster = _
  private var session: SparkSession = _
  private val script = Paths.get("..", "conf", "gpu-discovery.sh").toAbsolutePath.normalize()

  override def beforeAll(): Unit = {
    SharedSpark.stop()
    require(Files.isExecutable(script), s"missing or not executable: $script")
    val bin = TempDirs.create("llm-batch-fake-smi-")
    val smi = bin.resolve("nvidia-smi")
    Files.writeString(smi, "#!/bin/sh\nprintf '0\\n'\n")
    require(smi.toFile.setExecutable(true))
    val path = s"$bin:${sys.env.getOrElse("PATH", "/usr/bin:/bin")}"
    cluster = new StandaloneCluster(workers = 1, coresPerWorker = 2,
      workerConf = Map("spark.worker.resource.gpu.amount" -> "1",
        "spark.worker.resource.gpu.discoveryScript" -> script.toString),
      workerEnv = Map("PATH" -> path, "CUDA_VISIBLE_DEVICES" -> ""))
    // the driver and the one executor
    session = cluster.session("llm-batch-gpu-placement", executors = 2,
      "spark.executor.cores" -> "2",
      "spark.cores.max" -> "2",
      "spark.executor.resource.gpu.amount" -> "1",
      "spark.executor.resource.gpu.discoveryScript" -> script.toString,
      "spark.task.resource.gpu.amount" -> "0.5",
      "spark.task.maxFailures" -> "1")
  }

  override def afterAll(): Unit = if (cluster != null) cluster.shutdown(session)

  private def embeddings(partitions: Int) = session.range(0, 32, 1, partitions)
    .selectExpr("CAST(id AS INT) AS n", "concat('sentence number ', id) AS text")

  private def transformer = new LlmEmbeddingTransformer()
    .setModelUri(TestModels.embeddings.toString).setInputCol("text").setWindow(4)

  test("tasks see GPU address 0 and device auto resolves to gpu:0") {
    val seen = session.sparkContext.parallelize(1 to 8, 8).mapPartitions { _ =>
      val gpus = TaskDevices.assignedGpus()
      Iterator((gpus.toSeq, TaskDevices.resolve("auto", gpus)))
    }.collect()
    assert(seen.forall(_ == (Seq("0"), "gpu:0")), seen.mkString(", "))
  }

  test("the CPU-only libtorch refuses gpu:0 in one clear line naming the fix") {
    val e = intercept[SparkException](transformer.transform(embeddings(2)).collect())
    val msg = Iterator.iterate[Throwable](e)(_.getCause).takeWhile(_ != null).map(_.getMessage)
      .mkString(" | ")
    assert(msg.contains("Cannot place the model on gpu:0: this libtorch"), msg)
    assert(msg.contains("CPU-only") && msg.contains("PYTORCH_LIBRARY_PATH"), msg)
  }

  test("cpuFallback: tasks sharing gpu:0 share one model keyed by gpu:0, loaded once on CPU") {
    val metrics = LlmBatchMetrics.register(session.sparkContext)
    val t = transformer.setModelOption("cpuFallback", "true")
      .asInstanceOf[LlmEmbeddingTransformer].setMetrics(metrics)
    val out = t.transform(embeddings(8)).collect()
    assert(out.length == 32)
    assert(out.forall(r => r.isNullAt(r.fieldIndex("error"))),
      out.find(r => !r.isNullAt(r.fieldIndex("error"))).map(_.getAs[Any]("error")).toString)
    assert(metrics.modelLoads() == 1, metrics.modelLoadsByExecutor())
    val location = TestModels.embeddings.toString
    val probe = session.sparkContext.parallelize(1 to 2, 2).mapPartitions { _ =>
      val key = new ModelKey(location, "gpu:0", "auto")
      val s = ExecutorModels.loaded(key)
      Iterator((SparkEnv.get.executorId, ExecutorModels.loadedKeys().asScala.toList.map(_.toString),
        ExecutorModels.loads(key), if (s.isPresent) s.get().placedOn() else "none",
        if (s.isPresent) s.get().dtype() else "none"))
    }.collect().toSet
    assert(probe.size == 1, probe)
    val (_, keys, loads, placedOn, dtype) = probe.head
    assert(keys == List(new ModelKey(location, "gpu:0", "auto").toString), keys)
    assert(loads == 1 && placedOn == "cpu" && dtype == "FP32", probe)
  }
}
