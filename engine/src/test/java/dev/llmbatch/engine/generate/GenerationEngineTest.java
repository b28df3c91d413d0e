package dev.llmbatch.engine.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import dev.llmbatch.engine.model.CausalLm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The engine on the reference tiny Llama: transformers' greedy tokens, however requests batch. */
class GenerationEngineTest {
  private static final int EOS = 151645;
  private static CausalLm model;
  private static JsonNode goldens;

  @BeforeAll
  static void load() {
    model = Fixtures.referenceModel();
    goldens = Fixtures.goldens();
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static GenerationEngine engine(int slots, int budget) {
    return new GenerationEngine(model, DecodedText.factory(Fixtures.tokenizer()),
        new SchedulerConfig(slots, 512, budget, (long) slots * 512), 64, "test");
  }

  /** Prompts whose 24 greedy steps have no near tie (README: p0 and p7 have one). */
  private static List<JsonNode> prompts() {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode p : goldens.get("prompts")) {
      if (p.get("greedy").get("min_top1_minus_top2").asDouble() > 1e-3) {
        out.add(p);
      }
    }
    return out;
  }

  private static GenerationRequest greedy24(JsonNode prompt) {
    return new GenerationRequest(Fixtures.ints(prompt.get("input_ids")),
        SamplingParams.greedy(24).withIgnoreEos(true), new int[] {EOS});
  }

  @Test
  void greedyTokensMatchTransformersWhateverTheBatchAndAdmissionOrder() throws Exception {
    List<JsonNode> ps = prompts();
    assertTrue(ps.size() >= 5);
    // Alone: one slot, one request at a time.
    List<int[]> alone = new ArrayList<>();
    try (GenerationEngine e = engine(1, 512)) {
      for (JsonNode p : ps) {
        alone.add(e.submit(greedy24(p)).get().choices().get(0).tokenIds());
      }
    }
    // Together: 3 slots, reverse arrival, 16-token steps (prompts prefilled in chunks while
    // others decode).
    List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
    try (GenerationEngine e = engine(3, 16)) {
      for (int i = ps.size() - 1; i >= 0; i--) {
        fs.add(0, e.submit(greedy24(ps.get(i))));
      }
      for (int i = 0; i < ps.size(); i++) {
        JsonNode p = ps.get(i);
        int[] gold = Fixtures.ints(p.get("greedy").get("new_token_ids"));
        GenerationResult r = fs.get(i).get();
        assertArrayEquals(gold, alone.get(i), p.get("id").asText() + " alone");
        assertArrayEquals(gold, r.choices().get(0).tokenIds(), p.get("id").asText() + " batched");
        assertEquals("length", r.choices().get(0).finishReason());
        assertEquals(p.get("greedy").get("text_skip_special_tokens").asText(),
            r.choices().get(0).text(), p.get("id").asText() + " text");
        assertEquals(p.get("num_input_tokens").asInt(), r.promptTokens());
        assertEquals(24, r.completionTokens());
      }
      assertTrue(e.stats().steps() > 0);
    }
  }

  @Test
  void seededSamplingIsReproducibleAndIndependentOfBatchCompany() throws Exception {
    JsonNode p = prompts().get(0);
    SamplingParams sp = new SamplingParams(0.9, 0.95, 0, 12, 3, 1234L, List.of(), true, 0, 0);
    GenerationRequest r = new GenerationRequest(Fixtures.ints(p.get("input_ids")), sp,
        new int[] {EOS});
    GenerationResult aloneResult;
    try (GenerationEngine e = engine(3, 512)) {
      aloneResult = e.submit(r).get();
    }
    GenerationResult crowded;
    try (GenerationEngine e = engine(4, 24)) {
      List<CompletableFuture<GenerationResult>> others = new ArrayList<>();
      for (JsonNode q : prompts().subList(1, 4)) {
        others.add(e.submit(greedy24(q)));
      }
      crowded = e.submit(new GenerationRequest(Fixtures.ints(p.get("input_ids")), sp,
          new int[] {EOS})).get();
      for (CompletableFuture<GenerationResult> f : others) {
        f.get();
      }
    }
    assertEquals(3, aloneResult.choices().size());
    assertEquals(36, aloneResult.completionTokens());
    for (int c = 0; c < 3; c++) {
      assertArrayEquals(aloneResult.choices().get(c).tokenIds(),
          crowded.choices().get(c).tokenIds(), "choice " + c);
    }
    assertFalse(Arrays.equals(aloneResult.choices().get(0).tokenIds(),
        aloneResult.choices().get(1).tokenIds()), "each choice has its own generator");
  }

  @Test
  void aModelFailureFailsOnlyTheRequestThatCausedIt() throws Exception {
    List<JsonNode> ps = prompts();
    try (GenerationEngine e = engine(3, 512)) {
      CompletableFuture<GenerationResult> good1 = e.submit(greedy24(ps.get(0)));
      CompletableFuture<GenerationResult> bad = e.submit(new GenerationRequest(
          new int[] {1, 2, 10_000_000}, SamplingParams.greedy(4), new int[] {EOS}));
      CompletableFuture<GenerationResult> good2 = e.submit(greedy24(ps.get(1)));
      ExecutionException ex = assertThrows(ExecutionException.class, bad::get);
      assertEquals(ApiError.SERVER_ERROR, ApiException.errorOf(ex).code());
      assertArrayEquals(Fixtures.ints(ps.get(0).get("greedy").get("new_token_ids")),
          good1.get().choices().get(0).tokenIds());
      assertArrayEquals(Fixtures.ints(ps.get(1).get("greedy").get("new_token_ids")),
          good2.get().choices().get(0).tokenIds());
    }
  }

  @Test
  void promptsThatFillTheContextAndClosedEnginesAreRejected() throws Exception {
    GenerationEngine e = engine(1, 512);
    CompletableFuture<GenerationResult> tooLong = e.submit(new GenerationRequest(new int[512],
        SamplingParams.greedy(1), new int[0]));
    ExecutionException ex = assertThrows(ExecutionException.class, tooLong::get);
    assertEquals(ApiError.CONTEXT_LENGTH_EXCEEDED, ApiException.errorOf(ex).code());
    CompletableFuture<GenerationResult> running = e.submit(new GenerationRequest(new int[] {1, 2},
        SamplingParams.greedy(400).withIgnoreEos(true), new int[0]));
    e.close();
    ex = assertThrows(ExecutionException.class, running::get);
    assertEquals(ApiError.SERVER_ERROR, ApiException.errorOf(ex).code());
    ex = assertThrows(ExecutionException.class, () -> e.submit(new GenerationRequest(
        new int[] {1}, SamplingParams.greedy(1), new int[0])).get());
    assertEquals(ApiError.SERVER_ERROR, ApiException.errorOf(ex).code());
  }
}
