package dev.llmbatch.udf

import dev.llmbatch.udf.ml.LlmEmbeddingTransformer
import dev.llmbatch.udf.rows.{Endpoint, Schemas}
import org.apache.spark.sql.Row
import org.junit.runner.RunWith
import org.scalatestplus.junit.JUnitRunner

/** The embeddings transform on the shared bert-tiny flavor. */
@RunWith(classOf[JUnitRunner])
class EmbeddingTransformSuite extends SparkSuiteBase {
  test("one response per row: data[] per input string, float vectors, usage; order kept") {
    val s = spark
    import s.implicits._
    val input = (0 until 10).map(i => (i, s"sentence number $i")).toDF("n", "text").repartition(2)
      .sortWithinPartitions("n")
    val t = new LlmEmbeddingTransformer().setModelUri(TestModels.embeddingHandle.location())
      .setInputCol("text").setResponseCol("embedding_response").setWindow(3)
    val out = t.transform(input)
    assert(out.schema("embedding_response").dataType == Schemas.EMBEDDING_RESPONSE)
    assert(out.schema("error").dataType == Schemas.ERROR)
    val got = out.collect()
    assert(got.length == 10)
    val firstVectors = got.map { r =>
      assert(r.isNullAt(r.fieldIndex("error")))
      val resp = r.getAs[Row]("embedding_response")
      assert(resp.getAs[String]("object") == "list")
      val data = resp.getSeq[Row](resp.fieldIndex("data"))
      assert(data.length == 1 && data.head.getString(0) == "embedding" && data.head.getInt(1) == 0)
      assert(resp.getAs[Row]("usage").getAs[Long]("prompt_tokens") > 0)
      r.getAs[Int]("n") -> data.head.getSeq[Float](2)
    }.toMap
    assert(firstVectors.values.forall(_.length == 64))
    assert(firstVectors(0) != firstVectors(1))
    // Same text, same vector, whichever partition and batch it ran in.
    val again = t.transform(input.repartition(3)).collect()
      .map(r => r.getAs[Int]("n") -> r.getAs[Row]("embedding_response").getSeq[Row](1).head.getSeq[Float](2)).toMap
    for (i <- 0 until 10) {
      assert(again(i).zip(firstVectors(i)).forall { case (a, b) => math.abs(a - b) < 1e-5f })
    }
  }

  test("embedding dimension parameter from a column, encoding_format base64 refused per row") {
    val s = spark
    import s.implicits._
    val df = Seq(("a b c", "float"), ("d e f", "base64")).toDF("input", "encoding_format")
    val out = LlmBatch.embed(df, TestModels.embeddingHandle).collect()
    assert(out(0).getAs[Row]("error") == null)
    assert(out(1).getAs[Row]("error").getString(0) == "invalid_request_error")
    assert(out(1).getAs[Row]("error").getString(1).contains("encoding_format"))
  }
}
