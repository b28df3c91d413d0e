package dev.llmbatch.udf

import dev.llmbatch.udf.metrics.LlmBatchMetrics
import dev.llmbatch.udf.ml.{LlmChatTransformer, LlmEmbeddingTransformer}
import org.apache.spark.sql.Row
import org.apache.spark.sql.types._
import org.junit.runner.RunWith
import org.scalatestplus.junit.JUnitRunner

/**
 * Bad rows of every kind become that row's error while good rows in the same partition succeed;
 * a task never fails for a row.
 */
@RunWith(classOf[JUnitRunner])
class BadRowsSuite extends SparkSuiteBase {
  private val schema = StructType(Seq(
    StructField("id", StringType), StructField("messages", StringType),
    StructField("temperature", StringType), StructField("max_tokens", IntegerType),
    StructField("params", MapType(StringType, StringType))))

  private val good = """[{"role":"user","content":"Hello there"}]"""
  private val longPrompt = s"""[{"role":"user","content":"${Seq.fill(400)("word").mkString(" ")}"}]"""

  /** id, messages JSON, temperature (string column), max_tokens, params -> expected error code. */
  private val cases: Seq[(Row, String)] = Seq(
    Row("good-1", good, null, 3, null) -> null,
    Row("null-messages", null, null, null, null) -> "invalid_request_error",
    Row("unknown-role", """[{"role":"wizard","content":"hi"}]""", null, null, null) -> "invalid_request_error",
    Row("content-type", """[{"role":"user","content":42}]""", null, null, null) -> "invalid_request_error",
    Row("malformed-json", """[{"role":"user","content":"hi"""", null, null, null) -> "invalid_json",
    Row("negative-max-tokens", good, null, -5, null) -> "invalid_request_error",
    Row("temperature-hot", good, "hot", null, null) -> "invalid_request_error",
    Row("over-long-prompt", longPrompt, null, 4, null) -> "context_length_exceeded",
    Row("stream-true", good, null, null, Map("stream" -> "true")) -> "invalid_request_error",
    Row("bad-param-map", good, null, null, Map("top_p" -> "lots")) -> "invalid_request_error",
    Row("unknown-param", good, null, null, Map("max_tokenz" -> "3")) -> "invalid_request_error",
    Row("good-2", good, "0.5", 2, Map("seed" -> "7")) -> null)

  test("every kind of bad row is an error; good rows in the same partition succeed") {
    val metrics = LlmBatchMetrics.register(spark.sparkContext)
    val df = spark.createDataFrame(spark.sparkContext.parallelize(cases.map(_._1), 1), schema)
    val out = new LlmChatTransformer().setModelUri(TestModels.chatHandle.location())
      .setModelOption("maxModelLen", "96").setIdCol("id").setMetrics(metrics)
      .transform(df).collect()
    assert(out.length == cases.length, "rows out == rows in")
    for (((in, expected), row) <- cases.zip(out)) {
      assert(row.getString(0) == in.getString(0), "order kept")
      val err = row.getAs[Row]("error")
      if (expected == null) {
        assert(err == null, s"${in.getString(0)}: $err")
        assert(row.getAs[Row]("response") != null)
      } else {
        assert(err != null, s"${in.getString(0)} should fail with $expected")
        assert(err.getString(0) == expected, s"${in.getString(0)}: $err")
        assert(err.getString(1).nonEmpty)
        assert(row.getAs[Row]("response") == null)
      }
    }
    val byId = out.map(r => r.getString(0) -> Option(r.getAs[Row]("error")).map(_.getString(1)).orNull).toMap
    assert(byId("temperature-hot").contains("temperature") && byId("temperature-hot").contains("hot"))
    assert(byId("unknown-role").contains("wizard"))
    assert(byId("negative-max-tokens").contains("max_tokens"))
    assert(metrics.rows() == cases.length)
    assert(metrics.errors().get("invalid_request_error") == cases.count(_._2 == "invalid_request_error"))
    assert(metrics.errors().get("invalid_json") == 1L)
  }

  test("a partition of only bad rows never loads a model") {
    val metrics = LlmBatchMetrics.register(spark.sparkContext)
    val bad = cases.filter(c => c._2 != null && c._2 != "context_length_exceeded").map(_._1)
    val df = spark.createDataFrame(spark.sparkContext.parallelize(bad, 2), schema)
    val out = new LlmChatTransformer().setModelUri("s3a://no-such-bucket/no-model")
      .setMetrics(metrics).transform(df).collect()
    assert(out.length == bad.length)
    assert(out.forall(_.getAs[Row]("error") != null))
    assert(metrics.modelLoads() == 0)
  }

  test("embeddings: null, empty and non-string inputs are errors beside good rows") {
    val s = StructType(Seq(StructField("input", ArrayType(StringType)), StructField("dimensions", StringType)))
    val rows = Seq(Row(Seq("a sentence", "another"), null), Row(null, null), Row(Seq("ok", ""), null),
      Row(Seq("fine"), "many"), Row(Seq("fine"), null))
    val out = new LlmEmbeddingTransformer().setModelUri(TestModels.embeddingHandle.location())
      .transform(spark.createDataFrame(spark.sparkContext.parallelize(rows, 1), s)).collect()
    val codes = out.map(r => Option(r.getAs[Row]("error")).map(_.getString(0)).orNull).toSeq
    assert(codes == Seq(null, "invalid_request_error", "invalid_request_error", "invalid_request_error", null),
      out.map(_.getAs[Row]("error")).mkString("; "))
    assert(out.head.getAs[Row]("response").getSeq[Row](1).length == 2)
  }
}
