package dev.llmbatch.engine.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import dev.llmbatch.engine.api.RequestParams;
import dev.llmbatch.engine.generate.SamplingParams;
import dev.llmbatch.flavor.hf.GenerationConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ParameterDefaultsTest {
  private static RequestParams temp(double t, Integer maxTokens) {
    return new RequestParams(t, null, null, maxTokens, null, null, null, null, null, null);
  }

  private static GenerationConfig gc(Boolean doSample, Double t, Double topP, Integer topK,
      Integer maxNew) {
    return new GenerationConfig(List.of(2), null, null, doSample, t, topP, topK, null, maxNew,
        null, null, Map.of());
  }

  @Test
  void requestBeatsJobBeatsModelConfigBeatsGenerationConfigBeatsBuiltIn() {
    ParameterDefaults d = new ParameterDefaults(temp(0.4, null),
        ParameterDefaults.fromModelConfig(Map.of("temperature", 0.3, "max_new_tokens", 40,
            "top_p", 0.8)),
        ParameterDefaults.fromGenerationConfig(gc(true, 0.6, 0.95, 20, 100)));
    SamplingParams p = d.resolve(temp(0.2, null), 1, 10, 1000);
    assertEquals(0.2, p.temperature(), "request");
    assertEquals(40, p.maxTokens(), "model_config max_new_tokens");
    assertEquals(0.8, p.topP(), "model_config");
    assertEquals(20, p.topK(), "generation_config");
    assertEquals(1, p.n(), "built-in");
    assertEquals(0.4, d.resolve(RequestParams.NONE, 1, 10, 1000).temperature(), "job");
    SamplingParams builtIn = new ParameterDefaults(null, null, null)
        .resolve(RequestParams.NONE, 5, 10, 1000);
    assertEquals(1.0, builtIn.temperature());
    assertEquals(1.0, builtIn.topP());
    assertEquals(0, builtIn.topK());
    assertEquals(990, builtIn.maxTokens(), "the context left");
    assertEquals(5, builtIn.seed());
  }

  @Test
  void generationConfigContributesOnlyWhatItSets() {
    assertEquals(RequestParams.NONE.temperature(),
        ParameterDefaults.fromGenerationConfig(gc(null, 0.6, null, null, null)).temperature(),
        "without do_sample the sampling keys are not taken");
    assertEquals(0.0,
        ParameterDefaults.fromGenerationConfig(gc(false, 0.6, null, null, null)).temperature());
    RequestParams sampled = ParameterDefaults.fromGenerationConfig(gc(true, null, null, null, 7));
    assertEquals(1.0, sampled.temperature());
    assertEquals(50, sampled.topK(), "HF's top_k default when sampling");
    assertEquals(7, sampled.maxTokens());
  }

  @Test
  void maxTokensMustFitWhenTheRequestSetsItAndIsCutWhenADefaultDoes() {
    ParameterDefaults d = new ParameterDefaults(temp(1, 500), null, null);
    assertEquals(90, d.resolve(RequestParams.NONE, 0, 10, 100).maxTokens());
    ApiException e = assertThrows(ApiException.class,
        () -> d.resolve(temp(1, 91), 0, 10, 100));
    assertEquals(ApiError.CONTEXT_LENGTH_EXCEEDED, e.error().code());
    assertTrue(e.getMessage().contains("101 tokens"), e.getMessage());
    e = assertThrows(ApiException.class, () -> d.resolve(RequestParams.NONE, 0, 100, 100));
    assertEquals(ApiError.CONTEXT_LENGTH_EXCEEDED, e.error().code());
  }

  @Test
  void badModelConfigFailsTheLoadNamingTheKey() {
    EngineException e = assertThrows(EngineException.class,
        () -> ParameterDefaults.fromModelConfig(Map.of("temperature", "hot")));
    assertTrue(e.getMessage().contains("temperature"), e.getMessage());
    assertEquals(0.0, ParameterDefaults.fromModelConfig(Map.of("do_sample", false)).temperature());
    assertEquals(List.of("###"), ParameterDefaults.fromModelConfig(Map.of("stop", "###")).stop());
  }
}
