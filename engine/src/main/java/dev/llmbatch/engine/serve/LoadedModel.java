package dev.llmbatch.engine.serve;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import dev.llmbatch.engine.api.ChatCompletion;
import dev.llmbatch.engine.api.ChatMessage;
import dev.llmbatch.engine.api.ChatRequest;
import dev.llmbatch.engine.api.CompletionRequest;
import dev.llmbatch.engine.api.EmbeddingRequest;
import dev.llmbatch.engine.api.EmbeddingResponse;
import dev.llmbatch.engine.api.RequestKey;
import dev.llmbatch.engine.api.RequestParams;
import dev.llmbatch.engine.api.TextCompletion;
import dev.llmbatch.engine.generate.DecodedText;
import dev.llmbatch.engine.generate.GenerationEngine;
import dev.llmbatch.engine.generate.GenerationRequest;
import dev.llmbatch.engine.generate.GenerationResult;
import dev.llmbatch.engine.generate.SamplingParams;
import dev.llmbatch.engine.generate.SchedulerConfig;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.DecoderSpec;
import dev.llmbatch.engine.template.ChatTemplateException;
import dev.llmbatch.engine.tokenizer.TextTokenizer;
import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.LoggedModel;
import dev.llmbatch.flavor.hf.HfCache;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * A logged MLflow Transformers model loaded for serving, once per JVM, shared by all callers
 * (thread-safe). Requests return futures; a request that cannot be served completes exceptionally
 * with an {@link ApiException} carrying its {@link ApiError}, never failing other requests. All
 * requests, from any number of threads, share one continuous-batching {@link GenerationEngine}.
 *
 * <p>Chat as MLflow serves it: messages rendered by the tokenizer's chat template with
 * {@code add_generation_prompt=True} (no template: a per-request error, never a default), then
 * {@code metadata.prompt_template} applied, then tokenized without special tokens (as
 * {@code apply_chat_template(tokenize=True)} does: the template writes them). Completions apply
 * only the prompt_template and tokenize with special tokens.
 */
public final class LoadedModel implements AutoCloseable {
  private final ModelParts parts;
  private final GenerationEngine engine;
  private final String name;
  private final String fingerprint;
  private final long created;

  private LoadedModel(ModelParts parts, ServeOptions options) {
    this.parts = parts;
    this.name = options.servedModelName() != null ? options.servedModelName() : parts.name();
    this.created = options.created() > 0 ? options.created()
        : System.currentTimeMillis() / 1000;
    this.fingerprint = parts.fingerprint();
    if (parts.model() != null) {
      DecoderSpec spec = parts.model().spec();
      int context = options.maxModelLen() > 0
          ? Math.min(options.maxModelLen(), spec.maxPositions()) : spec.maxPositions();
      SchedulerConfig config = SchedulerConfig.fromMemory(options.maxSequences(),
          options.maxBatchTokens(), options.kvCacheBytes(), spec.kvBytesPerToken(), context);
      this.engine = new GenerationEngine(parts.model(), DecodedText.factory(parts.tokenizer()),
          config, options.queueCapacity(), name);
    } else {
      this.engine = null;
    }
  }

  /** Loads the model logged at {@code modelRoot} (the folder holding {@code MLmodel}). */
  public static LoadedModel load(Path modelRoot, ServeOptions options) {
    LoggedModel logged;
    try {
      logged = LoggedModel.open(modelRoot, HfCache.fromEnvironment(System.getenv()));
    } catch (FlavorException e) {
      throw new EngineException("Cannot load model " + modelRoot + ": " + e.getMessage(), e);
    }
    return load(logged, options);
  }

  /** Loads an already resolved logged model. */
  public static LoadedModel load(LoggedModel logged, ServeOptions options) {
    ModelParts parts;
    try {
      parts = ModelParts.load(logged, options);
    } catch (FlavorException e) {
      throw new EngineException("Cannot load model " + logged.root() + ": " + e.getMessage(), e);
    }
    try {
      return new LoadedModel(parts, options);
    } catch (RuntimeException e) {
      parts.close();
      throw e;
    }
  }

  /** The {@code model} field of responses. */
  public String name() {
    return name;
  }

  /** The llm/v1 task the model was logged for ({@code llm/v1/chat}, ...), or null. */
  public String task() {
    return parts.task();
  }

  /** The decoder's facts; null for an embeddings model. */
  public DecoderSpec spec() {
    return parts.model() == null ? null : parts.model().spec();
  }

  /** The scheduler's limits (slots, context, step budget); null for an embeddings model. */
  public SchedulerConfig schedulerConfig() {
    return engine == null ? null : engine.config();
  }

  /** Engine counters; null for an embeddings model. */
  public GenerationEngine.Stats stats() {
    return engine == null ? null : engine.stats();
  }

  /** The tokenizer (thread-safe for encode/decode). */
  public TextTokenizer tokenizer() {
    return parts.tokenizer();
  }

  /** A chat completion ({@code llm/v1/chat}). */
  public CompletableFuture<ChatCompletion> chat(ChatRequest request, RequestKey key) {
    return submit(key, request.params(), () -> {
      List<Map<String, Object>> messages = new ArrayList<>();
      for (ChatMessage m : request.messages()) {
        messages.add(m.toTemplateMap());
      }
      String rendered;
      try {
        rendered = parts.renderChat(messages, request.chatTemplateKwargs());
      } catch (ChatTemplateException e) {
        throw ApiException.invalidRequest(e.getMessage());
      }
      return parts.tokenizer().encode(parts.promptTemplate().apply(rendered), false);
    }, r -> {
      List<dev.llmbatch.engine.api.ChatChoice> choices = new ArrayList<>();
      for (GenerationResult.Choice c : r.choices()) {
        choices.add(dev.llmbatch.engine.api.ChatChoice.of(c.index(), c.text(), c.finishReason()));
      }
      return ChatCompletion.of(key.id("chatcmpl-"), created, name, fingerprint, choices,
          dev.llmbatch.engine.api.Usage.of(r.promptTokens(), r.completionTokens()));
    });
  }

  /** A text completion ({@code llm/v1/completions}). */
  public CompletableFuture<TextCompletion> complete(CompletionRequest request, RequestKey key) {
    return submit(key, request.params(),
        () -> parts.tokenizer().encode(parts.promptTemplate().apply(request.prompt()), true),
        r -> {
          List<dev.llmbatch.engine.api.TextChoice> choices = new ArrayList<>();
          for (GenerationResult.Choice c : r.choices()) {
            choices.add(dev.llmbatch.engine.api.TextChoice.of(c.index(), c.text(),
                c.finishReason()));
          }
          return TextCompletion.of(key.id("cmpl-"), created, name, fingerprint, choices,
              dev.llmbatch.engine.api.Usage.of(r.promptTokens(), r.completionTokens()));
        });
  }

  /**
   * Embeddings ({@code llm/v1/embeddings}), one response per request. Not wired yet: the encoder
   * serving code lives on another branch; every request fails with {@code server_error} saying so.
   */
  public CompletableFuture<EmbeddingResponse> embed(EmbeddingRequest request, RequestKey key) {
    return CompletableFuture.failedFuture(new ApiException(new ApiError(ApiError.SERVER_ERROR,
        "Cannot embed with model " + name + ": llm/v1/embeddings serving is not wired into"
            + " LoadedModel yet (encoder engine pending)")));
  }

  private interface Tokenize {
    int[] prompt();
  }

  private <T> CompletableFuture<T> submit(RequestKey key, RequestParams params, Tokenize tokenize,
      Function<GenerationResult, T> respond) {
    try {
      if (engine == null) {
        throw ApiException.invalidRequest("Cannot generate with model " + name + ": it serves "
            + parts.task() + ", not chat or completions");
      }
      int[] ids = tokenize.prompt();
      if (ids.length == 0) {
        throw ApiException.invalidRequest("Invalid prompt: it is empty after tokenization");
      }
      SamplingParams sp = parts.defaults().resolve(params, key.seed(params.seed()), ids.length,
          engine.config().capacity());
      GenerationRequest g = new GenerationRequest(ids, sp, parts.eosTokenIds());
      return engine.submit(g).thenApply(respond);
    } catch (ApiException e) {
      return CompletableFuture.failedFuture(e);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(new ApiException(new ApiError(ApiError.SERVER_ERROR,
          "Cannot serve request " + key.key() + ": " + e.getMessage()), e));
    }
  }

  /** Fails unfinished requests, stops the engine thread, frees the model and tokenizer. */
  @Override
  public void close() {
    try {
      if (engine != null) {
        engine.close();
      }
    } finally {
      parts.close();
    }
  }
}
