package dev.llmbatch.jobs

import java.nio.file.{Files, Path}
import java.util.Comparator

import org.apache.spark.sql.{DataFrame, SparkSession}
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/** One local[2] session per suite (UI off, loopback, few shuffle partitions) and temp folders. */
abstract class JobsSparkBase extends AnyFunSuite with BeforeAndAfterAll {
  @transient protected var spark: SparkSession = _
  private var tmp: Path = _

  /** Extra Spark settings for a suite's session (e.g. s3a endpoints). */
  protected def extraConf: Map[String, String] = Map.empty

  /** The suite's temp root (created before the session). */
  protected def tmpRoot: Path = {
    if (tmp == null) tmp = Files.createTempDirectory("llm-batch-jobs-")
    tmp
  }

  override protected def beforeAll(): Unit = {
    super.beforeAll()
    tmpRoot
    val b = SparkSession.builder()
      .master("local[2]")
      .appName(getClass.getSimpleName)
      .config("spark.ui.enabled", "false")
      .config("spark.driver.host", "127.0.0.1")
      .config("spark.driver.bindAddress", "127.0.0.1")
      .config("spark.sql.shuffle.partitions", "2")
      .config("spark.sql.warehouse.dir", tmp.resolve("warehouse").toString)
    spark = extraConf.foldLeft(b) { case (acc, (k, v)) => acc.config(k, v) }.getOrCreate()
  }

  override protected def afterAll(): Unit = {
    try {
      if (spark != null) spark.stop()
      SparkSession.clearActiveSession()
      SparkSession.clearDefaultSession()
      deleteTree(tmp)
    } finally super.afterAll()
  }

  /** A fresh folder under the suite's temp root. */
  protected def dir(name: String): Path = Files.createDirectories(tmp.resolve(name))

  /** A path (not created) under the suite's temp root. */
  protected def path(name: String): String = tmp.resolve(name).toString

  protected def sql(text: String): DataFrame = spark.sql(text)

  /** The shared reference folder (../shared): fails loudly when missing. */
  protected def sharedDir: Path = {
    val p = System.getProperty("llmbatch.shared.dir")
    require(p != null, "System property llmbatch.shared.dir is not set (Surefire sets it)")
    val d = Path.of(p)
    require(Files.isDirectory(d.resolve("reference")),
      s"Missing reference goldens under $d/reference: check out shared/ beside the clone")
    d
  }

  protected def deleteTree(p: Path): Unit = {
    if (p != null && Files.exists(p)) {
      val s = Files.walk(p)
      try s.sorted(Comparator.reverseOrder[Path]()).forEach(f => Files.deleteIfExists(f))
      finally s.close()
    }
  }
}
