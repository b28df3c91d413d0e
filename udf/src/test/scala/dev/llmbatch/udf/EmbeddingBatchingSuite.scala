package dev.llmbatch.udf

import java.nio.file.{Files, Path}

import scala.jdk.CollectionConverters._

import dev.llmbatch.udf.executor.{ExecutorModels, ModelKey}
import dev.llmbatch.udf.metrics.LlmBatchMetrics
import dev.llmbatch.udf.ml.LlmEmbeddingTransformer
import org.apache.spark.SparkException
import org.apache.spark.sql.{Row, SparkSession}
import org.junit.runner.RunWith
import org.scalatestplus.junit.JUnitRunner

/**
 * Embeddings rows of concurrent tasks share encoder forwards (local[4]: four task threads, one
 * executor JVM, one model). The model is asked to wait for 64 queued inputs before a round
 * (embedBatchRows) and each of the 4 partitions keeps its 16 rows in flight, so the one round
 * certainly holds all four tasks' rows: the assertions hold however the threads interleave.
 */
@RunWith(classOf[JUnitRunner])
class EmbeddingBatchingSuite extends SparkSuiteBase {
  private var session: SparkSession = _
  private var model: Path = _

  override def beforeAll(): Unit = {
    SharedSpark.stop()
    session = SparkSession.builder()
      .master("local[4]")
      .appName("llm-batch-embedding-batching")
      .config("spark.ui.enabled", "false")
      .config("spark.driver.host", "127.0.0.1")
      .config("spark.driver.bindAddress", "127.0.0.1")
      .config("spark.sql.adaptive.enabled", "false")
      .getOrCreate()
    // A private copy: its own registry key, so no other suite's load (or options) is reused.
    model = TempDirs.create("llm-batch-bert-copy-")
    val src = TestModels.embeddings
    Files.walk(src).iterator().asScala.foreach { p =>
      val to = model.resolve(src.relativize(p).toString)
      if (Files.isDirectory(p)) Files.createDirectories(to) else Files.copy(p, to)
    }
  }

  override def afterAll(): Unit = {
    if (session != null) session.stop()
    SharedSpark.stop()
  }

  private def texts = (0 until 64).map { i =>
    (i, s"sentence $i " + "with a few more words " * (i % 9))
  }

  private def vectors(rows: Array[Row]): Map[Int, Seq[Float]] = rows.map { r =>
    assert(r.isNullAt(r.fieldIndex("error")), String.valueOf(r.getAs[Row]("error")))
    r.getAs[Int]("n") -> r.getAs[Row]("response").getSeq[Row](1).head.getSeq[Float](2)
  }.toMap

  private def cosine(a: Seq[Float], b: Seq[Float]): Double = {
    val dot = a.zip(b).map { case (x, y) => x.toDouble * y }.sum
    dot / math.sqrt(a.map(x => x.toDouble * x).sum * b.map(x => x.toDouble * x).sum)
  }

  test("rows of four concurrent tasks share forwards of the executor's one model") {
    val s = session
    import s.implicits._
    val metrics = LlmBatchMetrics.register(s.sparkContext)
    val input = s.sparkContext.parallelize(texts, 4).toDF("n", "text")
    val t = new LlmEmbeddingTransformer().setModelUri(model.toString).setInputCol("text")
      .setModelOption("embedBatchRows", "64").setModelOption("embedBatchWaitMs", "300000")
      .setWindow(16).asInstanceOf[LlmEmbeddingTransformer].setMetrics(metrics)
    val out = t.transform(input).collect()
    assert(out.length == 64)
    val batched = vectors(out)
    assert(batched.keySet == (0 until 64).toSet)

    val key = new ModelKey(model.toString, "cpu", "auto")
    assert(ExecutorModels.loads(key) == 1)
    assert(metrics.modelLoads() == 1)
    val stats = ExecutorModels.loaded(key).get().embeddingStats()
    assert(stats.requests() == 64 && stats.rounds() == 1, stats)

    val b = metrics.embeddingBatching().asScala.toMap
    assert(b("driver/requests") == 64, b)
    assert(b("driver/rows") == 64, b)
    assert(b("driver/forwards") < b("driver/requests"), b)
    // One task keeps at most 16 rows (its window) in flight: more in one forward means tasks shared it.
    assert(b("driver/max_rows_per_forward") > 16, b)
    assert(b("driver/max_requests_per_forward") > 16, b)
    assert(metrics.snapshot().get("embedding_batching") != null)

    // Each text alone (window 1, one partition, no batching wait, another model instance):
    // the same vector, up to float summation order.
    val alone = vectors(new LlmEmbeddingTransformer().setModelUri(TestModels.embeddings.toString)
      .setInputCol("text").setWindow(1).transform(input.coalesce(1)).collect())
    for (i <- 0 until 64) {
      assert(cosine(alone(i), batched(i)) >= 0.99999, s"text $i: ${cosine(alone(i), batched(i))}")
    }
  }

  test("dtype=fp16 on CPU fails the job at load, naming the option") {
    val s = session
    import s.implicits._
    val e = intercept[SparkException] {
      new LlmEmbeddingTransformer().setModelUri(model.toString).setInputCol("text")
        .setDtype("fp16").transform(Seq((1, "hello")).toDF("n", "text").repartition(1)).collect()
    }
    val msg = Iterator.iterate[Throwable](e)(_.getCause).takeWhile(_ != null).map(_.getMessage)
      .mkString(" | ")
    assert(msg.contains("Cannot compute in fp16 on cpu: dtype=fp16"), msg)
    assert(ExecutorModels.loads(new ModelKey(model.toString, "cpu", "fp16")) == 0)
  }
}
