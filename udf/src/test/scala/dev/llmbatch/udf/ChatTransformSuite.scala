package dev.llmbatch.udf

import java.nio.file.Files

import dev.llmbatch.udf.metrics.LlmBatchMetrics
import dev.llmbatch.udf.ml.{LlmChatTransformer, LlmCompletionTransformer}
import dev.llmbatch.udf.rows.{Endpoint, Schemas}
import org.apache.spark.ml.{Pipeline, PipelineModel}
import org.apache.spark.sql.Row
import org.apache.spark.sql.functions.{col, monotonically_increasing_id}
import org.apache.spark.sql.types._
import org.junit.runner.RunWith
import org.scalatestplus.junit.JUnitRunner

/** Chat and completion transforms on a tiny model in local[2]. */
@RunWith(classOf[JUnitRunner])
class ChatTransformSuite extends SparkSuiteBase {
  private val messageType = ArrayType(StructType(Seq(
    StructField("role", StringType), StructField("content", StringType))))

  private def chats(n: Int, partitions: Int) = {
    val data = (0 until n).map { i =>
      Row(s"id-$i", Seq(Row("system", "You are terse."), Row("user", s"Say something about $i")),
        if (i % 2 == 0) 0.0 else 0.7, 3 + i % 3)
    }
    val schema = StructType(Seq(StructField("id", StringType), StructField("messages", messageType),
      StructField("temperature", DoubleType), StructField("max_tokens", IntegerType)))
    spark.createDataFrame(spark.sparkContext.parallelize(data, partitions), schema)
  }

  private def transformer = new LlmChatTransformer()
    .setModelUri(TestModels.chatHandle.location())
    .setModelOption("maxModelLen", "96")
    .setIdCol("id")
    .setDefaultParam("ignore_eos", true)
    .setCreated(1732900000L)
    .setWindow(4)

  test("chat: input columns + response + error, exact schema, order kept, one row out per row in") {
    val metrics = LlmBatchMetrics.register(spark.sparkContext)
    val input = chats(24, 3).withColumn("seq", monotonically_increasing_id())
    val out = transformer.setMetrics(metrics).transform(input)
    assert(out.schema == Schemas.output(input.schema, Endpoint.CHAT, "response", "error"))
    assert(out.schema("response").dataType == Schemas.CHAT_RESPONSE)
    val got = out.collect()
    assert(got.length == 24)
    assert(got.map(_.getAs[Long]("seq")).toSeq == input.collect().map(_.getAs[Long]("seq")).toSeq,
      "rows come out in input order")
    got.foreach { r =>
      assert(r.isNullAt(r.fieldIndex("error")), String.valueOf(r.getAs[Row]("error")))
      val resp = r.getAs[Row]("response")
      assert(resp.getAs[String]("object") == "chat.completion")
      assert(resp.getAs[Long]("created") == 1732900000L)
      val choice = resp.getSeq[Row](resp.fieldIndex("choices")).head
      assert(choice.getAs[Row]("message").getAs[String]("role") == "assistant")
      assert(choice.getAs[String]("finish_reason") == "length")
      val usage = resp.getAs[Row]("usage")
      assert(usage.getAs[Long]("completion_tokens") == r.getAs[Int]("max_tokens").toLong,
        "max_tokens comes from the per-row column; ignore_eos from the defaults")
      assert(usage.getAs[Long]("total_tokens") ==
        usage.getAs[Long]("prompt_tokens") + usage.getAs[Long]("completion_tokens"))
    }
    assert(metrics.rows() == 24)
    assert(metrics.errors().isEmpty)
    assert(metrics.completionTokens() == got.map(_.getAs[Int]("max_tokens").toLong).sum)
    assert(metrics.promptTokens() > 0)
  }

  test("determinism: ids and sampled text derive from the row key, so a rerun writes the same rows") {
    val input = chats(8, 2)
    val a = transformer.transform(input).select("id", "response").collect().map(r => r.getString(0) -> r.get(1)).toMap
    val b = transformer.transform(input.repartition(3)).select("id", "response").collect()
      .map(r => r.getString(0) -> r.get(1)).toMap
    assert(a == b, "same rows in other partitions give the same responses")
    assert(a.values.map(_.asInstanceOf[Row].getString(0)).toSet.size == 8, "ids differ per row key")
  }

  test("JSON-string messages through the Java API, and completions over a prompt column") {
    val s = spark
    import s.implicits._
    val df = Seq("""[{"role":"user","content":"Hello"}]""", """{"messages":[{"role":"user","content":"Hi"}],"max_tokens":2}""")
      .toDF("messages")
    val spec = TransformSpec.of(Endpoint.CHAT, TestModels.chatHandle).withDefaultParams("""{"max_tokens": 4, "ignore_eos": true}""")
    val out = LlmBatch.transform(df, spec, null).collect()
    assert(out.forall(_.isNullAt(2)), out.mkString("; "))
    assert(out.map(_.getStruct(1).getStruct(6).getLong(1)).toSeq == Seq(4L, 2L),
      "max_tokens from the defaults, then from the JSON request body")

    val prompts = Seq(("Once upon a time", 3), ("The capital of", 5)).toDF("prompt", "max_tokens")
    val done = new LlmCompletionTransformer().setModelUri(TestModels.chat.toString)
      .setDefaultParam("ignore_eos", true).transform(prompts).collect()
    assert(done.map(_.getAs[Row]("response").getAs[String]("object")).toSet == Set("text_completion"))
    assert(done.map(r => r.getAs[Row]("response").getAs[Row]("usage").getAs[Long]("completion_tokens")).toSeq ==
      Seq(3L, 5L))
  }

  test("configuration errors fail on the driver, naming the column") {
    val e = intercept[UdfException] {
      transformer.setInputCol("msgs").transformSchema(chats(1, 1).schema)
    }
    assert(e.getMessage.contains("msgs"))
    val clash = intercept[UdfException] {
      transformer.setResponseCol("id").transformSchema(chats(1, 1).schema)
    }
    assert(clash.getMessage.contains("id"))
    intercept[UdfException](new LlmChatTransformer().transformSchema(chats(1, 1).schema))
  }

  test("transformers save and load with a Pipeline, Params intact") {
    val dir = TempDirs.create("llm-batch-pipeline-").resolve("p").toString
    val model = new Pipeline().setStages(Array(transformer)).fit(chats(2, 1))
    model.write.overwrite().save(dir)
    val loaded = PipelineModel.load(dir).stages.head.asInstanceOf[LlmChatTransformer]
    assert(loaded.spec() == transformer.spec())
    assert(loaded.modelHandle() == transformer.modelHandle())
  }
}
