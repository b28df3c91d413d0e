package dev.llmbatch.engine.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Planning and bookkeeping, driven with hand-made logits (no model needed). */
class SchedulerTest {
  private static final int FILLER = 100; // any ordinary token

  private static Scheduler scheduler(int slots, int capacity, int budget, long kv) {
    return new Scheduler(new SchedulerConfig(slots, capacity, budget, kv),
        DecodedText.factory(Fixtures.tokenizer()));
  }

  private static GenerationRequest req(int promptLen, int maxTokens) {
    return new GenerationRequest(IntStream.range(1, promptLen + 1).toArray(),
        SamplingParams.greedy(maxTokens), new int[] {151645});
  }

  /** Runs the step, forcing {@code token} for every sampled item. */
  private static List<Scheduler.Finished> run(Scheduler s, Step step, int token) {
    float[][] logits = new float[step.items().size()][];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = Fixtures.forcing(token);
    }
    return s.update(step, logits);
  }

  @Test
  void aStepsDrawsAreEachSequencesOwnWhetherTheyRunTogetherOrNot() {
    // 8 sampled rows over a 151k vocabulary: the step draws them in parallel; each request's tokens
    // must be what its own sampler draws from its own rows, and a row of NaN logits fails only its
    // request
    int vocab = Fixtures.tokenizer().vocabSize();
    Scheduler s = scheduler(8, 64, 64, 512);
    List<GenerationRequest> reqs = new ArrayList<>();
    for (int r = 0; r < 8; r++) {
      SamplingParams p = new SamplingParams(r % 2 == 0 ? 1.0 : 0.7, r % 3 == 0 ? 1 : 0.9, 0, 6, 1,
          100 + r, List.of(), true, 0, 0);
      GenerationRequest g = new GenerationRequest(new int[] {1, 2, 3}, p, new int[] {151645});
      reqs.add(g);
      s.add(g);
    }
    GenerationRequest broken = reqs.get(5);
    java.util.Map<GenerationRequest, List<float[]>> rowsOf = new java.util.HashMap<>();
    java.util.Map<GenerationRequest, Scheduler.Finished> finished = new java.util.HashMap<>();
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(9);
    for (int step = 0; finished.size() < reqs.size(); step++) {
      Step plan = s.plan();
      float[][] logits = new float[plan.items().size()][vocab];
      for (int i = 0; i < logits.length; i++) {
        Step.Item item = plan.items().get(i);
        for (int v = 0; v < vocab; v++) {
          logits[i][v] = (float) (rnd.nextDouble() * 8);
        }
        if (item.request() == broken && step == 2) {
          logits[i][77] = Float.NaN;
        }
        rowsOf.computeIfAbsent(item.request(), k -> new ArrayList<>()).add(logits[i]);
      }
      for (Scheduler.Finished f : s.update(plan, logits)) {
        finished.put(f.request(), f);
      }
    }
    for (GenerationRequest g : reqs) {
      Scheduler.Finished f = finished.get(g);
      if (g == broken) {
        assertTrue(f.error() != null && f.result() == null, "NaN logits fail their request");
        continue;
      }
      assertNull(f.error());
      Sampler alone = new Sampler(g.params(), 0);
      int[] expected = rowsOf.get(g).stream().mapToInt(row -> alone.sample(row, java.util.Map.of()))
          .toArray();
      assertArrayEquals(expected, f.result().choices().get(0).tokenIds(), "request seed "
          + g.params().seed());
    }
  }

  @Test
  void decodesComeFirstThenPrefillChunksWithinTheTokenBudget() {
    Scheduler s = scheduler(4, 64, 8, 256);
    GenerationRequest a = req(5, 10);
    GenerationRequest b = req(12, 10);
    s.add(a);
    s.add(b);
    Step p1 = s.plan();
    assertEquals(2, p1.items().size());
    assertSame(a, p1.items().get(0).request());
    assertEquals(5, p1.items().get(0).input().tokens().length);
    assertTrue(p1.items().get(0).sample());
    assertEquals(3, p1.items().get(1).input().tokens().length, "b gets what is left of 8");
    assertFalse(p1.items().get(1).sample());
    run(s, p1, FILLER);

    Step p2 = s.plan();
    assertSame(a, p2.items().get(0).request(), "the decode token first");
    assertEquals(1, p2.items().get(0).input().tokens().length);
    assertEquals(5, p2.items().get(0).input().startPos());
    assertArrayEquals(new int[] {FILLER}, p2.items().get(0).input().tokens());
    assertSame(b, p2.items().get(1).request());
    assertEquals(3, p2.items().get(1).input().startPos());
    assertEquals(7, p2.items().get(1).input().tokens().length);
    assertEquals(8, p2.tokens());
    run(s, p2, FILLER);

    Step p3 = s.plan();
    assertEquals(1 + 2, p3.tokens(), "a decodes, b's last 2 prompt tokens");
    assertTrue(p3.items().get(1).sample());
  }

  @Test
  void aFreedSlotIsRefilledAtTheNextStep() {
    Scheduler s = scheduler(2, 64, 64, 128);
    GenerationRequest a = req(4, 1);
    GenerationRequest b = req(4, 5);
    GenerationRequest c = req(4, 5);
    s.add(a);
    s.add(b);
    s.add(c);
    Step p1 = s.plan();
    assertEquals(2, p1.items().size(), "two slots");
    int slotOfA = p1.items().get(0).input().slot();
    List<Scheduler.Finished> done = run(s, p1, FILLER);
    assertEquals(1, done.size());
    assertSame(a, done.get(0).request());
    Step p2 = s.plan();
    assertEquals(2, p2.items().size());
    assertSame(b, p2.items().get(0).request());
    assertSame(c, p2.items().get(1).request(), "c admitted as soon as a's slot freed");
    assertEquals(slotOfA, p2.items().get(1).input().slot());
    assertEquals(0, p2.items().get(1).input().startPos());
  }

  @Test
  void theKvBudgetBoundsAdmissionAndIsNeverExceeded() {
    // Each request reserves 4 + 16 = 20 tokens; 45 tokens admit two at a time despite 4 slots.
    Scheduler s = scheduler(4, 32, 64, 45);
    List<GenerationRequest> reqs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      reqs.add(req(4, 16));
      s.add(reqs.get(i));
    }
    int finished = 0;
    int maxRunning = 0;
    while (s.hasWork()) {
      Step p = s.plan();
      assertTrue(s.reservedTokens() <= 45, "reserved " + s.reservedTokens());
      assertTrue(p.tokens() <= 64);
      maxRunning = Math.max(maxRunning, s.runningSequences());
      finished += run(s, p, FILLER).size();
    }
    assertEquals(5, finished);
    assertEquals(2, maxRunning);
    assertEquals(0, s.reservedTokens());
  }

  @Test
  void finishReasonsAndUsage() {
    Scheduler s = scheduler(4, 16, 64, 64);
    GenerationRequest eos = req(3, 8);
    GenerationRequest len = req(3, 2);
    GenerationRequest ctx = new GenerationRequest(IntStream.range(1, 15).toArray(),
        SamplingParams.greedy(8).withIgnoreEos(true), new int[] {151645}); // 14 + 2 = context
    GenerationRequest ignore = new GenerationRequest(new int[] {1, 2, 3},
        SamplingParams.greedy(3).withIgnoreEos(true), new int[] {151645});
    for (GenerationRequest r : List.of(eos, len, ctx, ignore)) {
      s.add(r);
    }
    List<Scheduler.Finished> done = new ArrayList<>();
    int step = 0;
    while (s.hasWork()) {
      // Step 0 samples FILLER everywhere; later steps sample EOS for eos and ignore, FILLER else.
      Step p = s.plan();
      float[][] logits = new float[p.items().size()][];
      for (int i = 0; i < logits.length; i++) {
        GenerationRequest r = p.items().get(i).request();
        boolean wantsEos = step > 0 && (r == eos || r == ignore);
        logits[i] = Fixtures.forcing(wantsEos ? 151645 : FILLER);
      }
      step++;
      done.addAll(s.update(p, logits));
    }
    for (Scheduler.Finished f : done) {
      assertNull(f.error());
      GenerationResult.Choice c = f.result().choices().get(0);
      if (f.request() == eos) {
        assertEquals("stop", c.finishReason());
        assertEquals(2, f.result().completionTokens(), "the EOS token was generated");
        assertEquals(Fixtures.tokenizer().decode(new int[] {FILLER}, true), c.text());
      } else if (f.request() == len) {
        assertEquals("length", c.finishReason());
        assertEquals(2, f.result().completionTokens());
      } else if (f.request() == ctx) {
        assertEquals("length", c.finishReason());
        assertEquals(2, c.tokenIds().length, "14 prompt + 2 new = the 16-token context");
        assertEquals(14, f.result().promptTokens());
      } else {
        assertEquals("length", c.finishReason(), "ignore_eos runs to max_tokens");
        assertArrayEquals(new int[] {FILLER, 151645, 151645}, c.tokenIds());
        assertEquals(Fixtures.tokenizer().decode(new int[] {FILLER}, true), c.text(),
            "special tokens are skipped in the text");
      }
    }
    assertEquals(4, done.size());
  }

  @Test
  void stopStringsSpanningTokensAndMultiByteCharactersAreCut() {
    String text = "Hello world, 日本語 and more";
    int[] ids = Fixtures.tokenizer().encode(text, false);
    for (String stop : List.of("lo wor", "本語", "more")) {
      Scheduler s = scheduler(1, 128, 64, 128);
      GenerationRequest r = new GenerationRequest(new int[] {1, 2},
          SamplingParams.greedy(64).withStop(List.of(stop, "never")), new int[] {151645});
      s.add(r);
      List<Scheduler.Finished> done = new ArrayList<>();
      int i = 0;
      while (s.hasWork()) {
        done.addAll(run(s, s.plan(), i < ids.length ? ids[i++] : 151645));
      }
      GenerationResult.Choice c = done.get(0).result().choices().get(0);
      assertEquals(text.substring(0, text.indexOf(stop)), c.text(), "stop " + stop);
      assertEquals("stop", c.finishReason());
      assertTrue(c.tokenIds().length <= ids.length, "stopped without waiting for EOS");
    }
  }

  @Test
  void nChoicesAreSequencesSharingThePromptWithUsageCountedOnce() {
    Scheduler s = scheduler(4, 64, 64, 256);
    GenerationRequest r = new GenerationRequest(new int[] {1, 2, 3},
        new SamplingParams(0, 1, 0, 4, 3, 5, List.of(), false, 0, 0), new int[0]);
    s.add(r);
    Step p = s.plan();
    assertEquals(3, p.items().size(), "three sequences, each prefilling the prompt");
    List<Scheduler.Finished> done = new ArrayList<>();
    while (s.hasWork()) {
      done.addAll(run(s, s.plan().isEmpty() ? p : p, FILLER));
      p = s.plan();
      if (p.isEmpty()) {
        break;
      }
    }
    while (s.hasWork()) {
      done.addAll(run(s, s.plan(), FILLER));
    }
    GenerationResult res = done.get(0).result();
    assertEquals(3, res.choices().size());
    assertEquals(3, res.promptTokens());
    assertEquals(12, res.completionTokens(), "4 tokens x 3 choices");
    for (int i = 0; i < 3; i++) {
      assertEquals(i, res.choices().get(i).index());
    }
  }

  @Test
  void aFailedStepFailsOnlyItsRequests() {
    Scheduler s = scheduler(1, 64, 64, 64);
    GenerationRequest a = req(3, 4);
    GenerationRequest b = req(3, 4);
    s.add(a);
    s.add(b);
    Step p = s.plan();
    List<Scheduler.Finished> failed = s.fail(p, p.items(), new RuntimeException("boom"));
    assertEquals(1, failed.size());
    assertSame(a, failed.get(0).request());
    Step next = s.plan();
    assertSame(b, next.items().get(0).request(), "b takes the freed slot");
    assertThrows(IllegalArgumentException.class, () -> s.add(req(64, 1)), "prompt fills context");
  }
}
