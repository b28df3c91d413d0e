package dev.llmbatch.engine.api;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/** One embedding of an {@link EmbeddingResponse}: {@code object = "embedding"}. */
@JsonPropertyOrder({"object", "index", "embedding"})
public record Embedding(String object, int index, float[] embedding) {
  public Embedding {
    if (!"embedding".equals(object) || index < 0 || embedding == null) {
      throw new IllegalArgumentException("Invalid embedding: object=" + object + ", index=" + index);
    }
  }

  /** The embedding of input {@code index}. */
  public static Embedding of(int index, float[] vector) {
    return new Embedding("embedding", index, vector);
  }
}
