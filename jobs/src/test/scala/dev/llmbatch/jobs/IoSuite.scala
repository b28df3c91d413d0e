package dev.llmbatch.jobs

import java.nio.file.{Files, Path}
import java.util

import scala.jdk.CollectionConverters._

import dev.llmbatch.jobs.config.{InputSpec, OutputSpec}
import dev.llmbatch.jobs.io.{Resume, TableReader, TableWriter}
import org.junit.runner.RunWith
import org.scalatestplus.junit.JUnitRunner

@RunWith(classOf[JUnitRunner])
class IoSuite extends JobsSparkBase {

  private def rows = {
    val s = spark
    import s.implicits._
    (1 to 12).map(i => (s"id-$i", s"text $i", i % 3)).toDF("id", "prompt", "day")
  }

  private def out(p: String, format: String = "parquet", partitionBy: Seq[String] = Nil,
      mode: String = null, resume: Boolean = false): OutputSpec =
    new OutputSpec(p, null, format, partitionBy.asJava, mode, resume, null)

  test("reads every built-in format, inferred from the name or from the data files") {
    // Half named by suffix, half left for the data files' names to tell.
    for ((fmt, p) <- Seq("parquet" -> path("in.parquet"), "json" -> path("in-json"),
        "csv" -> path("in.csv"), "orc" -> path("in-orc"))) {
      rows.coalesce(1).write.format(fmt).option("header", "true").save(p)
      locally {
        val back = TableReader.read(spark, new InputSpec(p, null, null))
        assert(back.count() == 12, s"$fmt at $p")
        assert(back.columns.toSet == Set("id", "prompt", "day"), s"$fmt at $p")
        assert(back.where("id = 'id-7'").select("prompt").head().get(0).toString == "text 7")
      }
    }
  }

  test("a catalog table is read by name; a missing one is an error naming it") {
    rows.write.saveAsTable("prompts_in")
    assert(TableReader.read(spark, new InputSpec(null, "prompts_in", null)).count() == 12)
    val e = intercept[JobException](TableReader.read(spark, new InputSpec(null, "nope_table", null)))
    assert(e.getMessage.contains("nope_table"))
    val e2 = intercept[JobException](TableReader.read(spark, new InputSpec(path("missing"), null, null)))
    assert(e2.getMessage.startsWith("Cannot read --input"), e2.getMessage)
  }

  test("the default save mode refuses to clobber an existing output and says how to go on") {
    val p = path("existing")
    TableWriter.write(rows, out(p))
    val e = intercept[JobException](TableWriter.write(rows, out(p)))
    assert(e.getMessage.contains("--resume"), e.getMessage)
    TableWriter.write(rows, out(p, mode = "overwrite"))
    assert(spark.read.parquet(p).count() == 12)
  }

  test("resume: after deleting output partitions only their keys are pending") {
    val p = path("partitioned")
    TableWriter.write(rows, out(p, partitionBy = Seq("day")))
    val before = filesUnder(Path.of(p))
    deleteTree(Path.of(p, "day=1"))
    val written = Resume.writtenKeys(spark, out(p, resume = true), "id", false)
    val pending = Resume.pending(rows, "id", written)
    val ids = pending.select("id").collect().map(_.getString(0)).toSet
    assert(ids == (1 to 12).filter(_ % 3 == 1).map(i => s"id-$i").toSet)

    TableWriter.write(pending, out(p, partitionBy = Seq("day"), resume = true))
    val all = spark.read.parquet(p)
    assert(all.count() == 12)
    assert(all.select("id").distinct().count() == 12)
    // What was written before was left alone: same files, byte for byte.
    val after = filesUnder(Path.of(p))
    before.filter(!_._1.startsWith("day=1")).foreach { case (f, bytes) =>
      assert(after.get(f).exists(util.Arrays.equals(_, bytes)), s"$f changed")
    }
  }

  test("resume into an output that does not exist yet serves everything") {
    val p = path("not-yet")
    assert(Resume.writtenKeys(spark, out(p, resume = true), "id", false) == null)
    assert(Resume.pending(rows, "id", null).count() == 12)
    val e = intercept[JobException](Resume.pending(rows, "nope", null))
    assert(e.getMessage.contains("nope"))
  }

  test("partitioning by a missing column is an error listing the columns") {
    val e = intercept[JobException](TableWriter.write(rows, out(path("bad"), partitionBy = Seq("lang"))))
    assert(e.getMessage.contains("lang") && e.getMessage.contains("prompt"), e.getMessage)
  }

  private def filesUnder(root: Path): Map[String, Array[Byte]] = {
    val s = Files.walk(root)
    try s.iterator().asScala.filter(Files.isRegularFile(_))
      .filter(f => !f.getFileName.toString.startsWith("_") && !f.getFileName.toString.startsWith("."))
      .map(f => root.relativize(f).toString -> Files.readAllBytes(f)).toMap
    finally s.close()
  }
}
