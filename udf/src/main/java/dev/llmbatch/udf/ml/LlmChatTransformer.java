package dev.llmbatch.udf.ml;

import dev.llmbatch.udf.rows.Endpoint;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.MLReader;

/**
 * Chat as a spark.ml {@code Transformer}: the {@code messages} column in, the input columns plus
 * {@code response} and {@code error} out (spec/openai-shapes.md). Usable in a {@code Pipeline}
 * and saved/loaded with it.
 */
public final class LlmChatTransformer extends LlmTransformer {
  private static final long serialVersionUID = 1L;

  public LlmChatTransformer() {
    this(newUid("llmChat"));
  }

  /** Used by spark.ml's copy and load. */
  public LlmChatTransformer(String uid) {
    super(uid, "messages");
  }

  @Override
  protected Endpoint endpoint() {
    return Endpoint.CHAT;
  }

  /** Reader for {@code Pipeline} load. */
  public static MLReader<LlmChatTransformer> read() {
    return new DefaultParamsReader<>();
  }

  /** Loads a transformer saved with {@code write().save(path)}. */
  public static LlmChatTransformer load(String path) {
    return read().load(path);
  }
}
