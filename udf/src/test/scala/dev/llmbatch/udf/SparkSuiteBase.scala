package dev.llmbatch.udf

import java.nio.file.{Files, Path, Paths}

import dev.llmbatch.engine.testing.TinyDecoders
import org.apache.spark.sql.{DataFrame, Row, SparkSession}
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/** The one shared Spark test base: `local[2]`, UI off, loopback, tiny tables. */
trait SparkSuiteBase extends AnyFunSuite with BeforeAndAfterAll {
  protected def spark: SparkSession = SharedSpark.session

  protected def sql(query: String): DataFrame = spark.sql(query)

  /** Rows of a small DataFrame, in order. */
  protected def rows(df: DataFrame): Seq[Row] = df.collect().toSeq
}

/** The shared session, rebuilt when a suite (the cluster one) stopped it. */
object SharedSpark {
  private var current: SparkSession = _

  def session: SparkSession = synchronized {
    if (current == null || current.sparkContext.isStopped) {
      current = SparkSession.builder()
        .master("local[2]")
        .appName("llm-batch-udf-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.adaptive.enabled", "false")
        .getOrCreate()
    }
    current
  }

  def stop(): Unit = synchronized {
    SparkSession.getActiveSession.foreach(_.stop())
    SparkSession.getDefaultSession.foreach(_.stop())
    SparkSession.clearActiveSession()
    SparkSession.clearDefaultSession()
    current = null
  }
}

/** Tiny models written (or found) once per test JVM. */
object TestModels {
  private def sharedDir: Path = {
    val dir = System.getProperty("llmbatch.shared.dir")
    require(dir != null && Files.isDirectory(Paths.get(dir, "reference")),
      s"Cannot find the shared reference folder: system property llmbatch.shared.dir=$dir " +
        "(Surefire sets it to ../shared beside the checkout)")
    Paths.get(dir)
  }

  /**
   * A tiny random Llama chat flavor with the real Qwen3 tokenizer and chat template. Its LM head is
   * untied, and big enough to be packed (PackedGemm): every suite's executors run the packed path.
   */
  lazy val chat: Path = {
    sharedDir
    val dir = TempDirs.create("llm-batch-chat-")
    TinyDecoders.chatFlavor(dir, "llama", false)
  }

  /** The shared bert-tiny MLflow embeddings flavor, read in place. */
  lazy val embeddings: Path = {
    val dir = sharedDir.resolve("reference/bert-tiny/mlflow")
    require(Files.isRegularFile(dir.resolve("MLmodel")), s"Cannot find the bert-tiny flavor at $dir")
    dir
  }

  /** A handle on the chat model with a small context (so over-long prompts are easy to write). */
  def chatHandle: ModelHandle =
    ModelHandle.of(chat.toString).withOption("maxModelLen", "96").withOption("maxSequences", "8")

  def embeddingHandle: ModelHandle = ModelHandle.of(embeddings.toString)
}
