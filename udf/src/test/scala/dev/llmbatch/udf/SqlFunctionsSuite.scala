package dev.llmbatch.udf

import dev.llmbatch.udf.metrics.LlmBatchMetrics
import dev.llmbatch.udf.rows.{Endpoint, Schemas}
import dev.llmbatch.udf.sql.LlmFunctions
import org.apache.spark.sql.{AnalysisException, Row}
import org.junit.runner.RunWith
import org.scalatestplus.junit.JUnitRunner

/** llm_chat, llm_complete and llm_embed from spark.sql on temp views. */
@RunWith(classOf[JUnitRunner])
class SqlFunctionsSuite extends SparkSuiteBase {
  private var metrics: LlmBatchMetrics = _

  override def beforeAll(): Unit = {
    metrics = LlmBatchMetrics.register(spark.sparkContext)
    LlmFunctions.register(spark, Endpoint.CHAT, "llm_chat", TestModels.chatHandle,
      """{"ignore_eos": true}""", 0L, metrics)
    LlmFunctions.register(spark, Endpoint.COMPLETIONS, "llm_complete", TestModels.chatHandle,
      """{"ignore_eos": true}""", 0L, metrics)
    LlmFunctions.registerEmbeddings(spark, TestModels.embeddingHandle, metrics)
    val s = spark
    import s.implicits._
    Seq(("a", "Hello", """[{"role":"user","content":"Hello"}]"""),
      ("b", "Goodbye", """[{"role":"system","content":"Be kind."},{"role":"user","content":"Bye"}]"""),
      ("c", "Again", """[{"role":"user","content":"Hello"}]"""))
      .toDF("id", "prompt", "messages_json").repartition(2).createOrReplaceTempView("requests")
  }

  test("llm_chat over array<struct> messages with a params struct returns struct<response, error>") {
    val df = sql(
      """SELECT id, llm_chat(array(named_struct('role', 'user', 'content', prompt)),
        |                    named_struct('max_tokens', 3, 'temperature', 0.0)) AS r
        |FROM requests ORDER BY id""".stripMargin)
    assert(df.schema("r").dataType == Schemas.result(Endpoint.CHAT))
    val got = df.collect()
    assert(got.length == 3)
    got.foreach { row =>
      val r = row.getAs[Row]("r")
      assert(r.getAs[Row]("error") == null, r)
      val usage = r.getAs[Row]("response").getAs[Row]("usage")
      assert(usage.getAs[Long]("completion_tokens") == 3L)
    }
  }

  test("llm_chat over JSON strings, with a map of params; SQL reads the fields") {
    val got = sql(
      """SELECT id, r.response.choices[0].finish_reason AS finish, r.response.usage.completion_tokens AS n,
        |       r.error.code AS code
        |FROM (SELECT id, llm_chat(messages_json, map('max_tokens', '2')) AS r FROM requests)
        |ORDER BY id""".stripMargin).collect()
    assert(got.map(r => (r.getString(0), r.getString(1), r.getLong(2), r.getString(3))).toSeq ==
      Seq(("a", "length", 2L, null), ("b", "length", 2L, null), ("c", "length", 2L, null)))
  }

  test("bad rows in SQL are errors, good rows beside them succeed") {
    val got = sql(
      """SELECT id, llm_chat(CASE id WHEN 'a' THEN '[{"role":"user"' WHEN 'b' THEN '[{"role":"robot","content":"x"}]'
        |                           ELSE messages_json END, '{"max_tokens": -1}') AS bad,
        |       llm_chat(messages_json, '{"max_tokens": 1}') AS good
        |FROM requests ORDER BY id""".stripMargin).collect()
    assert(got.map(_.getAs[Row]("bad").getAs[Row]("error").getString(0)).toSeq ==
      Seq("invalid_json", "invalid_request_error", "invalid_request_error"))
    assert(got.forall(_.getAs[Row]("good").getAs[Row]("error") == null))
  }

  test("llm_complete and llm_embed") {
    val c = sql("SELECT llm_complete(prompt, named_struct('max_tokens', 2)) AS r FROM requests").collect()
    assert(c.forall(_.getAs[Row]("r").getAs[Row]("response").getAs[String]("object") == "text_completion"))
    val e = sql("SELECT id, llm_embed(prompt) AS r, llm_embed(array(prompt, id)) AS two FROM requests ORDER BY id")
      .collect()
    e.foreach { row =>
      val data = row.getAs[Row]("r").getAs[Row]("response").getSeq[Row](1)
      assert(data.length == 1 && data.head.getSeq[Float](2).length == 64)
      assert(row.getAs[Row]("two").getAs[Row]("response").getSeq[Row](1).map(_.getInt(1)) == Seq(0, 1))
    }
    assert(metrics.errors().isEmpty || !metrics.errors().containsKey("server_error"), metrics.errors())
  }

  test("wrong arity is an analysis-time error naming the two forms") {
    val e = intercept[Exception](sql("SELECT llm_chat(prompt, prompt, prompt) FROM requests").collect())
    assert(e.getMessage.contains("llm_chat(input, params)"), e.getMessage)
  }
}
