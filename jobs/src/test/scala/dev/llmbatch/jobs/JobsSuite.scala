package dev.llmbatch.jobs

import java.nio.file.{Files, Path}

import scala.jdk.CollectionConverters._

import com.fasterxml.jackson.databind.ObjectMapper
import dev.llmbatch.flavor.sample.SampleModels
import dev.llmbatch.jobs.config.{ConfFile, JobConf, JobKind}
import dev.llmbatch.jobs.run.Jobs
import dev.llmbatch.jobs.summary.{RunSummary, SummaryWriter}
import org.junit.runner.RunWith
import org.scalatestplus.junit.JUnitRunner

/**
 * The jobs end to end on a real tiny chat model (random weights, word-level tokenizer): the CLI with
 * a conf file, 1:1 rows with OpenAI-shaped responses, the summary, resume after deleting output
 * partitions and files (the counters prove only those rows were served again), and an OpenAI Batch
 * file round trip.
 */
@RunWith(classOf[JUnitRunner])
class JobsSuite extends JobsSparkBase {
  private lazy val model: String =
    SampleModels.writePipelineChatModel(dir("model"), 11).toString
  private val json = new ObjectMapper()

  private def prompts(n: Int) = {
    val s = spark
    import s.implicits._
    (1 to n).map(i => (s"row-$i", s"hello world $i", s"d${i % 3}")).toDF("id", "prompt", "day")
  }

  private def summaryOf(out: String): RunSummary =
    SummaryWriter.read(out + "/_llm_batch_summary.json", spark.sparkContext.hadoopConfiguration)

  test("chat from the CLI with a conf file: one response or error per row, and a summary") {
    val in = path("chat-in.parquet")
    val s = spark
    import s.implicits._
    prompts(6).union(Seq(("row-bad", "hello", "d0")).toDF("id", "prompt", "day"))
      .withColumn("temperature", org.apache.spark.sql.functions
        .when(org.apache.spark.sql.functions.col("id") === "row-bad", 7.5).otherwise(null))
      .write.parquet(in)
    val out = path("chat-out")
    val conf = dir("conf").resolve("chat.yaml")
    Files.writeString(conf, s"model: $model\ninput: $in\noutput: /nowhere\nprompt_col: prompt\n" +
      "max_tokens: 3\nsystem-prompt: be brief\nprogress: false\n")
    val code = LlmBatchCli.commandLine().execute("chat", "--conf-file", conf.toString,
      "--output", out, "--id-col", "id", "--partition-by", "day", "--seed", "5")
    assert(code == 0)

    val rows = spark.read.parquet(out)
    assert(rows.count() == 7)
    assert(rows.columns.toSet == Set("id", "prompt", "day", "temperature", "response", "error"))
    val ok = rows.where("error is null")
    assert(ok.count() == 6)
    assert(ok.where("response.object = 'chat.completion' and size(response.choices) = 1" +
      " and response.usage.completion_tokens <= 3 and response.usage.completion_tokens > 0")
      .count() == 6)
    val bad = rows.where("id = 'row-bad'").select("response", "error.code").head()
    assert(bad.isNullAt(0) && bad.getString(1) == "invalid_request_error")

    val sum = summaryOf(out)
    assert(sum.status == "succeeded" && sum.job == "chat")
    assert(sum.rowsIn == 7 && sum.rowsOut == 7 && sum.rowsSkipped == 0)
    assert(sum.errorRows == 1 && sum.errorsByCode.asScala == Map("invalid_request_error" -> 1L))
    val completion = ok.selectExpr("sum(response.usage.completion_tokens)").head().getLong(0)
    val prompt = ok.selectExpr("sum(response.usage.prompt_tokens)").head().getLong(0)
    assert(sum.completionTokens == completion && sum.promptTokens == prompt)
    assert(sum.model == model && sum.servedModel.nonEmpty && sum.modelFingerprint.nonEmpty)
    assert(sum.outputTokensPerS > 0 && sum.rowsPerS > 0)
  }

  test("resume after deleting an output partition serves exactly the rows that were in it") {
    val in = path("resume-in.parquet")
    prompts(12).write.parquet(in)
    val out = path("resume-out")
    def run(resume: Boolean): RunSummary = Jobs.run(spark, JobConf.resolve(JobKind.COMPLETIONS,
      Map[String, Object]("model" -> model, "input" -> in, "output" -> out, "id-col" -> "id",
        "partition-by" -> "day", "max-tokens" -> Integer.valueOf(2), "progress" -> "false",
        "resume" -> java.lang.Boolean.valueOf(resume)).asJava, Map.empty[String, Object].asJava))

    val first = run(resume = false)
    assert(first.rowsOut == 12)
    val before = spark.read.parquet(out).where("day != 'd1'")
      .select("id", "response.id", "response.choices").collect().toSet
    deleteTree(Path.of(out, "day=d1"))

    val second = run(resume = true)
    val d1 = (1 to 12).count(_ % 3 == 1)
    assert(second.rowsIn == 12)
    assert(second.rowsOut == d1, "only the deleted partition's rows are served again")
    assert(second.rowsSkipped == 12 - d1)
    val all = spark.read.parquet(out)
    assert(all.count() == 12 && all.select("id").distinct().count() == 12)
    assert(all.where("day != 'd1'").select("id", "response.id", "response.choices").collect().toSet
      == before)

    val third = run(resume = true)
    assert(third.rowsOut == 0 && third.rowsSkipped == 12)
    assert(spark.read.parquet(out).count() == 12)
  }

  test("batch: an OpenAI Batch file round-trips, and resume refills a deleted output file") {
    val in = dir("batch-in").resolve("requests.jsonl")
    val lines = (1 to 9).map { i =>
      if (i % 2 == 0) s"""{"custom_id":"req-$i","method":"POST","url":"/v1/completions","body":{"model":"x","prompt":"the world $i","max_tokens":2}}"""
      else s"""{"custom_id":"req-$i","method":"POST","url":"/v1/chat/completions","body":{"model":"x","messages":[{"role":"user","content":"hello $i"}],"max_tokens":2}}"""
    } :+ """{"custom_id":"req-bad","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"wizard","content":"hi"}]}}"""
    Files.writeString(in, lines.mkString("\n") + "\n")
    val out = path("batch-out")
    def run(resume: Boolean): RunSummary = {
      val file = ConfFile.parse(s"model: $model\ninput: $in\noutput: $out\npartitions: 3\n" +
        "progress: false\n", "batch.yaml")
      Jobs.run(spark, JobConf.resolve(JobKind.BATCH,
        Map[String, Object]("resume" -> java.lang.Boolean.valueOf(resume)).asJava, file))
    }
    val first = run(resume = false)
    assert(first.rowsIn == 10 && first.rowsOut == 10 && first.errorRows == 1)

    def outLines: Seq[String] = Files.list(Path.of(out)).iterator().asScala
      .filter(_.getFileName.toString.startsWith("part-"))
      .flatMap(f => Files.readAllLines(f).asScala).filter(_.nonEmpty).toSeq
    val parsed = outLines.map(json.readTree)
    assert(parsed.map(_.get("custom_id").asText()).toSet ==
      ((1 to 9).map(i => s"req-$i") :+ "req-bad").toSet)
    parsed.foreach { o =>
      assert(o.get("id").asText().startsWith("batch_req_"))
      assert(o.has("response") && o.has("error") && o.get("response").isNull != o.get("error").isNull)
    }
    val chat = parsed.find(_.get("custom_id").asText() == "req-1").get
    assert(chat.at("/response/status_code").asInt() == 200)
    assert(chat.at("/response/body/object").asText() == "chat.completion")
    val cmpl = parsed.find(_.get("custom_id").asText() == "req-2").get
    assert(cmpl.at("/response/body/object").asText() == "text_completion")
    assert(parsed.find(_.get("custom_id").asText() == "req-bad").get.at("/error/code").asText()
      == "invalid_request_error")

    val victim = Files.list(Path.of(out)).iterator().asScala
      .filter(f => f.getFileName.toString.startsWith("part-") && Files.size(f) > 0).next()
    val lost = Files.readAllLines(victim).asScala.count(_.nonEmpty)
    Files.delete(victim)
    val second = run(resume = true)
    assert(second.rowsOut == lost && second.rowsSkipped == 10 - lost)
    assert(outLines.size == 10)
    assert(outLines.map(json.readTree(_).get("custom_id").asText()).toSet.size == 10)
  }
}
