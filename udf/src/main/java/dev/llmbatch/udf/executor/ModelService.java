package dev.llmbatch.udf.executor;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.engine.api.RequestKey;
import dev.llmbatch.engine.embed.EmbeddingScheduler;
import dev.llmbatch.engine.generate.GenerationEngine;
import dev.llmbatch.engine.serve.LoadedModel;
import dev.llmbatch.udf.rows.Endpoint;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The inference service of one loaded model in an executor: every task thread submits here and
 * waits on its futures, while the engine's one scheduler thread batches the requests of all
 * concurrent tasks (four task slots on one device share one batch and one copy of the weights).
 */
public final class ModelService implements AutoCloseable {
  private final ModelKey key;
  private final LoadedModel model;
  private final String placedOn;
  private final Map<String, String> options;

  ModelService(ModelKey key, LoadedModel model, String placedOn, Map<String, String> options) {
    this.key = key;
    this.model = model;
    this.placedOn = placedOn;
    this.options = Map.copyOf(options);
  }

  /** The handle options the model was loaded with (later handles' options do not apply). */
  public Map<String, String> options() {
    return options;
  }

  /** Where this model lives: the key tasks share it by (their Spark-assigned device). */
  public ModelKey key() {
    return key;
  }

  /**
   * The device the model was loaded on: the key's, or {@code cpu} when {@code cpuFallback} let a
   * GPU key load on this executor's CPU.
   */
  public String placedOn() {
    return placedOn;
  }

  /** The dtype computed in ({@code FP32} on CPU). */
  public String dtype() {
    return model.dtype().name();
  }

  /** The embeddings scheduler's counters; null for a generative model. */
  public EmbeddingScheduler.Stats embeddingStats() {
    return model.embeddingStats();
  }

  /** The generation engine's counters; null for an embeddings model. */
  public GenerationEngine.Stats generationStats() {
    return model.stats();
  }

  /**
   * Submits one request body. A body the engine's request records reject completes
   * exceptionally with that {@code ApiException}; nothing here throws for a bad request.
   */
  public CompletableFuture<?> submit(Endpoint endpoint, ObjectNode body, RequestKey requestKey) {
    return model.serve(endpoint.url(), body, requestKey);
  }

  @Override
  public void close() {
    model.close();
  }
}
