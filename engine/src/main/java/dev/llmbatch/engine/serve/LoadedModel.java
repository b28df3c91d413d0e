package dev.llmbatch.engine.serve;

import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import dev.llmbatch.engine.api.ChatCompletion;
import dev.llmbatch.engine.api.ChatRequest;
import dev.llmbatch.engine.api.CompletionRequest;
import dev.llmbatch.engine.api.EmbeddingRequest;
import dev.llmbatch.engine.api.EmbeddingResponse;
import dev.llmbatch.engine.api.RequestKey;
import dev.llmbatch.engine.api.TextCompletion;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * A logged MLflow Transformers model loaded for serving, once per JVM, shared by all callers
 * (thread-safe). Requests return futures; a request that cannot be served completes exceptionally
 * with an {@link ApiException} carrying its {@link ApiError}, never failing other requests.
 */
public final class LoadedModel implements AutoCloseable {

  private LoadedModel() {}

  /** Loads the model logged at {@code modelRoot} (the folder holding {@code MLmodel}). */
  public static LoadedModel load(Path modelRoot, ServeOptions options) {
    throw new UnsupportedOperationException("Cannot load " + modelRoot + ": not implemented yet");
  }

  /** A chat completion ({@code llm/v1/chat}). */
  public CompletableFuture<ChatCompletion> chat(ChatRequest request, RequestKey key) {
    return CompletableFuture.failedFuture(new ApiException(
        new ApiError(ApiError.SERVER_ERROR, "not implemented yet")));
  }

  /** A text completion ({@code llm/v1/completions}). */
  public CompletableFuture<TextCompletion> complete(CompletionRequest request, RequestKey key) {
    return CompletableFuture.failedFuture(new ApiException(
        new ApiError(ApiError.SERVER_ERROR, "not implemented yet")));
  }

  /** Embeddings ({@code llm/v1/embeddings}), one response per request. */
  public CompletableFuture<EmbeddingResponse> embed(EmbeddingRequest request, RequestKey key) {
    return CompletableFuture.failedFuture(new ApiException(
        new ApiError(ApiError.SERVER_ERROR, "not implemented yet")));
  }

  @Override
  public void close() {}
}
