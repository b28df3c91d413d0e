package dev.llmbatch.engine.generate;

import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.runtime.TorchRuntime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Continuous batching with two verbs, as in vLLM: {@link #plan()} the next step, then
 * {@link #update(Step, float[][])} from its logits. A sequence is only "tokens computed vs tokens
 * known"; each step gives every running sequence with one token left a decode token, then spends
 * what is left of the token budget on prefill chunks (partially prefilled sequences first, then
 * waiting ones in arrival order), admitting a waiting sequence as soon as a slot is free and its KV
 * reservation fits. A request's {@code n} choices are {@code n} sequences, each prefilling the
 * prompt itself (the slot KV cache has no prefix sharing); usage counts the prompt once. Not
 * thread-safe: one scheduler thread.
 */
public final class Scheduler {
  /**
   * A request that ended: with its result, or with the failure that ended it.
   *
   * @param request the request
   * @param result its result, or null when it failed
   * @param error why it failed, or null
   */
  public record Finished(GenerationRequest request, GenerationResult result, Throwable error) {}

  /**
   * Rows × vocabulary from which a step's draws run in parallel ({@link DrawPool}): each row's
   * draw is a pass or more over its logits, the sampler and counts its own, and at large
   * vocabularies the draws of a 32-row step took longer than the step; in parallel they took
   * 1.74–1.88× less on 2 cores (docs/benchmarks.md, session 12).
   */
  private static final long PARALLEL_DRAWS = 1 << 18;

  /**
   * Threads for a step's draws, as many as the engine's intra-op threads (so never more than the
   * cores its executor was given), shared by the JVM's engines; made at the first parallel draw
   * (a step has run: the engine and its thread count are set); null where that count is one.
   */
  private static final class DrawPool {
    static final ForkJoinPool POOL =
        TorchRuntime.threads() < 2 ? null : new ForkJoinPool(TorchRuntime.threads());
  }

  private final SchedulerConfig config;
  private final ChoiceText.Factory texts;
  private final Deque<Sequence> waiting = new ArrayDeque<>();
  private final Set<Sequence> running = new LinkedHashSet<>(); // admission order
  // lowest free slot first: live sequences stay packed at the low slots, so a decode step's rows
  // are (nearly) consecutive and read the KV cache as a view (see model.layers.StepPlan)
  private final PriorityQueue<Integer> freeSlots = new PriorityQueue<>();
  private final Map<GenerationRequest, RequestState> states = new IdentityHashMap<>();
  private long reservedTokens;

  public Scheduler(SchedulerConfig config, ChoiceText.Factory texts) {
    this.config = config;
    this.texts = texts;
    for (int s = 0; s < config.slots(); s++) {
      freeSlots.add(s);
    }
  }

  /** The limits. */
  public SchedulerConfig config() {
    return config;
  }

  /**
   * Queues a request. Its prompt must leave room for at least one new token within the capacity
   * (callers check and answer {@code context_length_exceeded}).
   */
  public void add(GenerationRequest request) {
    int promptLen = request.promptTokens().length;
    if (promptLen >= config.capacity()) {
      throw new IllegalArgumentException("Cannot schedule a request of " + promptLen
          + " prompt tokens: the context holds " + config.capacity() + " tokens");
    }
    if (states.containsKey(request)) {
      throw new IllegalArgumentException("Cannot schedule a request twice: " + request);
    }
    RequestState st = new RequestState(request);
    for (int c = 0; c < request.params().n(); c++) {
      Sequence s = new Sequence(st, c, config.capacity(), texts.open(request.params().stop()));
      st.sequences.add(s);
      waiting.add(s);
    }
    st.unfinished = st.sequences.size();
    states.put(request, st);
  }

  /** Whether any request is waiting or running. */
  public boolean hasWork() {
    return !states.isEmpty();
  }

  /** Sequences waiting for a slot. */
  public int waitingSequences() {
    return waiting.size();
  }

  /** Sequences holding a slot. */
  public int runningSequences() {
    return running.size();
  }

  /** KV-cache tokens reserved by running sequences. */
  public long reservedTokens() {
    return reservedTokens;
  }

  /** Plans the next step; empty when there is nothing to run. */
  public Step plan() {
    int budget = config.maxBatchTokens();
    List<Sequence> seqs = new ArrayList<>();
    List<Step.Item> items = new ArrayList<>();
    // Decode tokens first: one each for running sequences with a single token left.
    for (Sequence s : running) {
      if (budget > 0 && s.remaining() == 1) {
        budget -= schedule(s, 1, seqs, items);
      }
    }
    // Then chunks of prompts already being prefilled.
    for (Sequence s : running) {
      if (budget > 0 && s.remaining() > 1) {
        budget -= schedule(s, Math.min(s.remaining(), budget), seqs, items);
      }
    }
    // Then admit waiting sequences into free slots, in arrival order, while the KV budget allows.
    while (budget > 0 && !freeSlots.isEmpty() && !waiting.isEmpty()) {
      Sequence s = waiting.peek();
      if (reservedTokens + s.reservedTokens > config.kvTokenBudget()) {
        break; // strict FIFO: a big request is not overtaken forever by small ones
      }
      waiting.poll();
      s.slot = freeSlots.poll();
      reservedTokens += s.reservedTokens;
      running.add(s);
      budget -= schedule(s, Math.min(s.remaining(), budget), seqs, items);
    }
    return new Step(seqs, items);
  }

  private static int schedule(Sequence s, int count, List<Sequence> seqs, List<Step.Item> items) {
    StepInput in = new StepInput(s.slot, s.computed, s.nextTokens(count));
    seqs.add(s);
    items.add(new Step.Item(s.owner.request, s.choice, in, count == s.remaining()));
    return count;
  }

  /**
   * Applies a step's outputs ({@code logits[i]} for item {@code i}): advances the computed counts,
   * samples where a chunk reached a sequence's end, finishes choices, frees their slots, and
   * returns the requests that ended. A failure while sampling one sequence fails only its request.
   */
  public List<Finished> update(Step step, float[][] logits) {
    if (logits.length != step.sequences.size()) {
      throw new IllegalArgumentException("Cannot update: " + logits.length + " logits for "
          + step.sequences.size() + " step items");
    }
    List<Finished> done = new ArrayList<>();
    int n = logits.length;
    boolean[] drawing = new boolean[n];
    int draws = 0;
    for (int i = 0; i < n; i++) {
      Sequence s = step.sequences.get(i);
      if (s.owner.failed) {
        continue;
      }
      s.computed += step.items().get(i).input().tokens().length;
      // a prefill chunk short of the prompt's end needs no draw: its logits are not needed
      drawing[i] = s.remaining() == 0;
      draws += drawing[i] ? 1 : 0;
    }
    int[] drawn = new int[n];
    RuntimeException[] failures = new RuntimeException[n];
    IntConsumer draw = i -> {
      try {
        drawn[i] = step.sequences.get(i).draw(logits[i]);
      } catch (RuntimeException e) {
        failures[i] = e;
      }
    };
    IntStream rows = IntStream.range(0, n).filter(i -> drawing[i]);
    ForkJoinPool pool = draws > 1 && (long) draws * logits[0].length >= PARALLEL_DRAWS
        ? DrawPool.POOL : null;
    if (pool != null) {
      pool.submit(() -> rows.parallel().forEach(draw)).join();
    } else {
      rows.forEach(draw);
    }
    for (int i = 0; i < n; i++) {
      Sequence s = step.sequences.get(i);
      RequestState st = s.owner;
      if (!drawing[i] || st.failed) {
        continue;
      }
      if (failures[i] != null) {
        done.add(fail(st, failures[i]));
        continue;
      }
      s.append(drawn[i], config.capacity());
      if (s.finished()) {
        release(s);
        if (--st.unfinished == 0) {
          states.remove(st.request);
          done.add(new Finished(st.request, st.result(), null));
        }
      }
    }
    return done;
  }

  /**
   * Fails the requests of the given items of {@code step} (the model failed on them); a later
   * {@link #update} skips their items.
   */
  public List<Finished> fail(Step step, List<Step.Item> items, Throwable cause) {
    List<Finished> done = new ArrayList<>();
    for (int i = 0; i < step.sequences.size(); i++) {
      Sequence s = step.sequences.get(i);
      if (items.contains(step.items().get(i)) && !s.owner.failed) {
        done.add(fail(s.owner, cause));
      }
    }
    return done;
  }

  /** Fails every request held (shutdown). */
  public List<Finished> failAll(Throwable cause) {
    List<Finished> done = new ArrayList<>();
    for (RequestState st : List.copyOf(states.values())) {
      done.add(fail(st, cause));
    }
    return done;
  }

  private Finished fail(RequestState st, Throwable cause) {
    st.failed = true;
    for (Sequence s : st.sequences) {
      if (running.contains(s)) {
        release(s);
      }
      waiting.remove(s);
    }
    states.remove(st.request);
    return new Finished(st.request, null, cause);
  }

  private void release(Sequence s) {
    running.remove(s);
    freeSlots.add(s.slot);
    reservedTokens -= s.reservedTokens;
  }
}
