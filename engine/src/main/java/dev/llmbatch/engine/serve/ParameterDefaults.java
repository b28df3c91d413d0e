package dev.llmbatch.engine.serve;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import dev.llmbatch.engine.api.RequestParams;
import dev.llmbatch.engine.generate.SamplingParams;
import dev.llmbatch.flavor.hf.GenerationConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Resolves a request's generation parameters with one precedence: request &gt; job &gt; MLmodel
 * {@code model_config} &gt; {@code generation_config.json} &gt; built-in defaults.
 *
 * <p>Built-in defaults (OpenAI's): temperature 1, top_p 1, top_k off, n 1, no stop strings,
 * penalties 0, ignore_eos false, and max_tokens = whatever context the prompt leaves. A
 * {@code generation_config.json} contributes only keys it sets: {@code do_sample: false} means
 * greedy (temperature 0); {@code do_sample: true} brings its temperature, top_p and top_k, with
 * HF's defaults (1.0, 1.0, 50) for the ones it omits; {@code max_new_tokens} is max_tokens.
 * {@code model_config} may use OpenAI names or HF's ({@code max_new_tokens}, {@code do_sample}).
 */
public final class ParameterDefaults {
  private final RequestParams job;
  private final RequestParams modelConfig;
  private final RequestParams generationConfig;

  public ParameterDefaults(RequestParams job, RequestParams modelConfig,
      RequestParams generationConfig) {
    this.job = job == null ? RequestParams.NONE : job;
    this.modelConfig = modelConfig == null ? RequestParams.NONE : modelConfig;
    this.generationConfig = generationConfig == null ? RequestParams.NONE : generationConfig;
  }

  /** The layer below the job's: everything the model files say. */
  public RequestParams modelLayers() {
    return modelConfig.orElse(generationConfig);
  }

  /**
   * The sampling parameters of a request whose prompt has {@code promptLen} tokens in a context of
   * {@code capacity}. A max_tokens the request itself sets that does not fit is
   * {@code context_length_exceeded} (as OpenAI answers); a default that does not fit is cut to the
   * context left.
   *
   * @param seed the request's seed (its own, or derived from its key)
   */
  public SamplingParams resolve(RequestParams request, long seed, int promptLen, int capacity) {
    RequestParams p = request.orElse(job).orElse(modelConfig).orElse(generationConfig);
    int room = capacity - promptLen;
    if (room < 1) {
      throw new ApiException(new ApiError(ApiError.CONTEXT_LENGTH_EXCEEDED,
          "This model's maximum context length is " + capacity + " tokens, but the prompt has "
              + promptLen + " tokens: shorten the messages or prompt"));
    }
    if (request.maxTokens() != null && request.maxTokens() > room) {
      throw new ApiException(new ApiError(ApiError.CONTEXT_LENGTH_EXCEEDED,
          "This model's maximum context length is " + capacity + " tokens. However, you requested "
              + (promptLen + request.maxTokens()) + " tokens (" + promptLen + " in the prompt, "
              + request.maxTokens() + " for the completion): reduce max_tokens or the prompt"));
    }
    int maxTokens = p.maxTokens() == null ? room : Math.min(p.maxTokens(), room);
    int topK = p.topK() == null || p.topK() < 0 ? 0 : p.topK();
    return new SamplingParams(
        p.temperature() == null ? 1.0 : p.temperature(),
        p.topP() == null ? 1.0 : p.topP(),
        topK,
        maxTokens,
        p.n() == null ? 1 : p.n(),
        seed,
        p.stop() == null ? List.of() : p.stop(),
        p.ignoreEos() != null && p.ignoreEos(),
        p.presencePenalty() == null ? 0 : p.presencePenalty(),
        p.frequencyPenalty() == null ? 0 : p.frequencyPenalty());
  }

  /** The layer a {@code generation_config.json} contributes (see the class comment). */
  public static RequestParams fromGenerationConfig(GenerationConfig gc) {
    if (gc == null) {
      return RequestParams.NONE;
    }
    Double temperature = null;
    Double topP = null;
    Integer topK = null;
    if (Boolean.FALSE.equals(gc.doSample())) {
      temperature = 0.0;
    } else if (Boolean.TRUE.equals(gc.doSample())) {
      temperature = gc.temperature() == null ? 1.0 : gc.temperature();
      topP = gc.topP() == null ? 1.0 : gc.topP();
      topK = gc.topK() == null ? 50 : gc.topK();
    }
    try {
      return new RequestParams(temperature, topP, topK, gc.maxNewTokens(), null, null, null, null,
          null, null);
    } catch (ApiException e) {
      throw new EngineException("Cannot use generation_config.json: " + e.getMessage(), e);
    }
  }

  /** The layer MLmodel {@code model_config} contributes; a wrongly typed value fails the load. */
  public static RequestParams fromModelConfig(Map<String, Object> mc) {
    if (mc == null || mc.isEmpty()) {
      return RequestParams.NONE;
    }
    try {
      Double temperature = number(mc, "temperature");
      if (Boolean.FALSE.equals(bool(mc, "do_sample"))) {
        temperature = 0.0;
      }
      Double maxTokens = number(mc, "max_tokens");
      if (maxTokens == null) {
        maxTokens = number(mc, "max_new_tokens");
      }
      Double topK = number(mc, "top_k");
      Double n = number(mc, "n");
      Double seed = number(mc, "seed");
      return new RequestParams(temperature, number(mc, "top_p"),
          topK == null ? null : topK.intValue(), maxTokens == null ? null : maxTokens.intValue(),
          stops(mc.get("stop")), n == null ? null : n.intValue(),
          seed == null ? null : seed.longValue(), number(mc, "presence_penalty"),
          number(mc, "frequency_penalty"), bool(mc, "ignore_eos"));
    } catch (ApiException | IllegalArgumentException e) {
      throw new EngineException("Cannot use MLmodel model_config " + mc + ": " + e.getMessage()
          + "; fix the model_config logged with the model", e);
    }
  }

  private static Double number(Map<String, Object> m, String key) {
    Object v = m.get(key);
    if (v == null) {
      return null;
    }
    if (v instanceof Number num) {
      return num.doubleValue();
    }
    throw new IllegalArgumentException("key '" + key + "' should be a number but is '" + v + "'");
  }

  private static Boolean bool(Map<String, Object> m, String key) {
    Object v = m.get(key);
    if (v == null) {
      return null;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    throw new IllegalArgumentException("key '" + key + "' should be true or false but is '" + v + "'");
  }

  private static List<String> stops(Object v) {
    if (v == null) {
      return null;
    }
    if (v instanceof String s) {
      return List.of(s);
    }
    if (v instanceof List<?> l) {
      List<String> out = new ArrayList<>();
      for (Object o : l) {
        out.add(String.valueOf(o));
      }
      return out;
    }
    throw new IllegalArgumentException("key 'stop' should be a string or a list but is '" + v + "'");
  }
}
