package dev.llmbatch.udf.ml;

import dev.llmbatch.udf.rows.Endpoint;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.MLReader;

/**
 * Embeddings as a spark.ml {@code Transformer}: the {@code input} column in, the input columns plus
 * {@code response} and {@code error} out (spec/openai-shapes.md). Usable in a {@code Pipeline}
 * and saved/loaded with it.
 */
public final class LlmEmbeddingTransformer extends LlmTransformer {
  private static final long serialVersionUID = 1L;

  public LlmEmbeddingTransformer() {
    this(newUid("llmEmbedding"));
  }

  /** Used by spark.ml's copy and load. */
  public LlmEmbeddingTransformer(String uid) {
    super(uid, "input");
  }

  @Override
  protected Endpoint endpoint() {
    return Endpoint.EMBEDDINGS;
  }

  /** Reader for {@code Pipeline} load. */
  public static MLReader<LlmEmbeddingTransformer> read() {
    return new DefaultParamsReader<>();
  }

  /** Loads a transformer saved with {@code write().save(path)}. */
  public static LlmEmbeddingTransformer load(String path) {
    return read().load(path);
  }
}
