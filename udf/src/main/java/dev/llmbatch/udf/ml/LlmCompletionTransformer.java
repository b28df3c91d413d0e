package dev.llmbatch.udf.ml;

import dev.llmbatch.udf.rows.Endpoint;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.MLReader;

/**
 * Completions as a spark.ml {@code Transformer}: the {@code prompt} column in, the input columns plus
 * {@code response} and {@code error} out (spec/openai-shapes.md). Usable in a {@code Pipeline}
 * and saved/loaded with it.
 */
public final class LlmCompletionTransformer extends LlmTransformer {
  private static final long serialVersionUID = 1L;

  public LlmCompletionTransformer() {
    this(newUid("llmCompletion"));
  }

  /** Used by spark.ml's copy and load. */
  public LlmCompletionTransformer(String uid) {
    super(uid, "prompt");
  }

  @Override
  protected Endpoint endpoint() {
    return Endpoint.COMPLETIONS;
  }

  /** Reader for {@code Pipeline} load. */
  public static MLReader<LlmCompletionTransformer> read() {
    return new DefaultParamsReader<>();
  }

  /** Loads a transformer saved with {@code write().save(path)}. */
  public static LlmCompletionTransformer load(String path) {
    return read().load(path);
  }
}
