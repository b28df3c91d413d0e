package dev.llmbatch.engine.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import dev.llmbatch.engine.api.BatchRequestLine;
import dev.llmbatch.engine.api.ChatCompletion;
import dev.llmbatch.engine.api.ChatMessage;
import dev.llmbatch.engine.api.ChatRequest;
import dev.llmbatch.engine.api.CompletionRequest;
import dev.llmbatch.engine.api.Embedding;
import dev.llmbatch.engine.api.EmbeddingRequest;
import dev.llmbatch.engine.api.EmbeddingResponse;
import dev.llmbatch.engine.api.OpenAiJson;
import dev.llmbatch.engine.api.RequestKey;
import dev.llmbatch.engine.api.RequestParams;
import dev.llmbatch.engine.api.TextCompletion;
import dev.llmbatch.engine.embed.EmbeddingScheduler;
import dev.llmbatch.engine.embed.EmbeddingService;
import dev.llmbatch.engine.generate.DecodedText;
import dev.llmbatch.engine.generate.GenerationEngine;
import dev.llmbatch.engine.generate.GenerationRequest;
import dev.llmbatch.engine.generate.GenerationResult;
import dev.llmbatch.engine.generate.SamplingParams;
import dev.llmbatch.engine.generate.SchedulerConfig;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.DecoderSpec;
import dev.llmbatch.engine.runtime.ComputeDtype;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
  private static final Logger LOG = LoggerFactory.getLogger(LoadedModel.class);
  private final ModelParts parts;
  private final GenerationEngine engine;
  private final String name;
  private final String fingerprint;
  private final long created;
  private final ComputeDtype dtype;
  private final EmbeddingScheduler embedder;

  private LoadedModel(ModelParts parts, ServeOptions options, ComputeDtype dtype) {
    this.parts = parts;
    this.dtype = dtype;
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
    this.embedder = parts.embeddings() == null ? null
        : new EmbeddingScheduler(parts.embeddings(), options.queueCapacity(),
            options.embedBatching(), name);
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

  /**
   * Loads an already resolved logged model, computing in the dtype {@link
   * ServeOptions#computeDtype} picks for the device and the logged {@code torch_dtype} (logged
   * once here; {@link #dtype()} tells it afterwards).
   */
  public static LoadedModel load(LoggedModel logged, ServeOptions options) {
    String torchDtype = torchDtype(logged);
    ComputeDtype dtype;
    try {
      DevicePlacement.check(options.device(), options.threads());
      dtype = options.computeDtype(torchDtype);
    } catch (EngineException e) {
      throw new EngineException("Cannot load model " + logged.root() + ": " + e.getMessage(), e);
    }
    LOG.info("Loading model {} on {} computing in {} (dtype={}, torch_dtype {})", logged.root(),
        options.device(), dtype, options.dtype(), torchDtype == null ? "not recorded" : torchDtype);
    ServeOptions concrete = options.withDtype(dtype == ComputeDtype.FP16 ? "fp16" : "fp32");
    ModelParts parts;
    try {
      parts = ModelParts.load(logged, concrete);
    } catch (FlavorException e) {
      throw new EngineException("Cannot load model " + logged.root() + ": " + e.getMessage(), e);
    }
    try {
      return new LoadedModel(parts, concrete, dtype);
    } catch (RuntimeException e) {
      parts.close();
      throw e;
    }
  }

  /** The MLmodel's {@code torch_dtype}, else config.json's; null when neither records one. */
  private static String torchDtype(LoggedModel logged) {
    String t = logged.flavor().torchDtype();
    if (t != null && !t.isBlank()) {
      return t;
    }
    try {
      return logged.config().torchDtype();
    } catch (RuntimeException e) {
      return null; // no readable config.json: loading says so with the real reason
    }
  }

  /** The dtype the model computes in (FP32 on CPU). */
  public ComputeDtype dtype() {
    return dtype;
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

  /** Embedding scheduler counters (forwards, rows per forward); null for a generative model. */
  public EmbeddingScheduler.Stats embeddingStats() {
    return embedder == null ? null : embedder.stats();
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
   * Serves one request body sent to an OpenAI {@code url} ({@link BatchRequestLine#CHAT_URL},
   * {@link BatchRequestLine#COMPLETIONS_URL} or {@link BatchRequestLine#EMBEDDINGS_URL}): the one
   * place where a URL picks the request type, for {@code predict}, Spark batch files and the udf.
   * Never throws: an unknown URL or a body the request records reject completes exceptionally with
   * that {@link ApiException}.
   */
  public CompletableFuture<?> serve(String url, JsonNode body, RequestKey key) {
    try {
      return switch (url == null ? "" : url) {
        case BatchRequestLine.CHAT_URL -> chat(OpenAiJson.read(body, ChatRequest.class), key);
        case BatchRequestLine.COMPLETIONS_URL ->
            complete(OpenAiJson.read(body, CompletionRequest.class), key);
        case BatchRequestLine.EMBEDDINGS_URL ->
            embed(OpenAiJson.read(body, EmbeddingRequest.class), key);
        default -> throw ApiException.invalidRequest("Invalid url '" + url + "': use "
            + BatchRequestLine.CHAT_URL + ", " + BatchRequestLine.COMPLETIONS_URL + " or "
            + BatchRequestLine.EMBEDDINGS_URL);
      };
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Embeddings ({@code llm/v1/embeddings}), one response per request, through the encoder's
   * {@link EmbeddingService} (pooling and normalisation from the sentence-transformers files).
   * Requests from all threads go to one {@link EmbeddingScheduler}, whose thread packs the inputs
   * of every queued request into shared token-budget forwards; blocks while the queue is full.
   * An input the service rejects (e.g. an empty string) fails its own request with that error.
   */
  public CompletableFuture<EmbeddingResponse> embed(EmbeddingRequest request, RequestKey key) {
    try {
      if (embedder == null) {
        throw ApiException.invalidRequest("Cannot embed with model " + name + ": it is a "
            + "generative model (" + parts.task() + "); send /v1/chat/completions or"
            + " /v1/completions requests");
      }
      if ("base64".equals(request.encodingFormat())) {
        throw ApiException.invalidRequest("Invalid encoding_format 'base64': not supported yet;"
            + " use float");
      }
      List<EmbeddingService.Item> items = new ArrayList<>(request.input().size());
      for (String text : request.input()) {
        items.add(new EmbeddingService.Item(text, request.dimensions()));
      }
      return embedder.submit(items).thenApply(this::embeddingResponse);
    } catch (ApiException e) {
      return CompletableFuture.failedFuture(e);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(new ApiException(new ApiError(ApiError.SERVER_ERROR,
          "Cannot embed request " + key.key() + ": " + e.getMessage()), e));
    }
  }

  /** The response of one request's rows; the first failed row fails the request. */
  private EmbeddingResponse embeddingResponse(List<EmbeddingService.Row> rows) {
    List<Embedding> data = new ArrayList<>(rows.size());
    long tokens = 0;
    for (int i = 0; i < rows.size(); i++) {
      EmbeddingService.Row row = rows.get(i);
      if (!row.ok()) {
        throw new ApiException(new ApiError(row.errorCode(), "input[" + i + "]: "
            + row.errorMessage()));
      }
      data.add(Embedding.of(i, row.embedding()));
      tokens += row.promptTokens();
    }
    return EmbeddingResponse.of(data, name, tokens);
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

  /** Fails unfinished requests, stops the engine threads, frees the model and tokenizer. */
  @Override
  public void close() {
    try {
      if (engine != null) {
        engine.close();
      }
      if (embedder != null) {
        embedder.close();
      }
    } finally {
      parts.close();
    }
  }
}
