package dev.llmbatch.engine.embed;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.Pooling;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Embeds texts with a loaded {@link Encoder}: tokenise, truncate, batch by token budget (longest
 * first), pool on the device, apply {@code dimensions}, and return rows in input order with exact
 * token counts. A row that cannot be served gets an error and never fails the others.
 *
 * <p>Rules (documented for users):
 * <ul>
 *   <li><b>Truncation</b>: an input longer than {@code max_seq_length} tokens (special tokens
 *       included) keeps its first tokens and its trailing special token(s) ({@code [SEP]}), as
 *       Hugging Face's truncation does. {@code prompt_tokens} counts the tokens actually fed.
 *   <li><b>Empty and all-whitespace strings</b> are rejected per row with
 *       {@code invalid_request_error}, as OpenAI's API and TEI reject empty input: their
 *       "embedding" would be the special tokens' alone, the same for every such row, and is never
 *       what the caller meant.
 *   <li><b>dimensions</b>: the first {@code dimensions} components, then L2-normalised again
 *       (OpenAI's behaviour); larger than the model's width, or below 1, is
 *       {@code invalid_request_error}.
 * </ul>
 */
public final class EmbeddingService {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddingService.class);

  /** Default padded tokens per forward: large enough to keep GEMMs efficient, small for memory. */
  public static final int DEFAULT_TOKEN_BUDGET = 8192;
  /** Default rows per forward. */
  public static final int DEFAULT_MAX_ROWS = 256;

  /** Inputs from which {@link #prepareAll} tokenises in parallel. */
  static final int PARALLEL_PREPARE = 64;

  private final Encoder encoder;
  private final TokenEncoder tokenizer;
  private final PoolingChoice choice;
  private final TokenBudgetBatcher batcher;
  private final int trailingSpecials;

  /** A service over {@code encoder} with a resolved pooling choice. */
  public EmbeddingService(Encoder encoder, TokenEncoder tokenizer, PoolingChoice choice,
      TokenBudgetBatcher batcher) {
    this.encoder = encoder;
    this.tokenizer = tokenizer;
    this.choice = choice;
    // an encoder that packs batches is filled by real tokens: padding costs it nothing
    this.batcher = encoder.packsBatches() ? batcher.asPacked() : batcher;
    this.trailingSpecials = trailingSpecials(tokenizer);
    if (choice.maxSeqLength() <= trailingSpecials + 1) {
      throw new EngineException("Invalid max_seq_length " + choice.maxSeqLength()
          + ": it leaves no room for text between the special tokens");
    }
  }

  /**
   * A service whose pooling comes from {@code modelDir}'s sentence-transformers files (or the
   * default), with {@code overrides}; the choice is logged once, here.
   */
  public static EmbeddingService create(Encoder encoder, TokenEncoder tokenizer, Path modelDir,
      PoolingChoice.Overrides overrides, TokenBudgetBatcher batcher) {
    // decoder-based embedding models pool their last token; encoders default to the mean
    boolean decoder = Architectures.CAUSAL_LM_TYPES.contains(encoder.spec().modelType());
    PoolingChoice c = PoolingChoice.resolve(modelDir, encoder.spec().maxPositions(), overrides,
        decoder ? Pooling.LASTTOKEN : Pooling.MEAN);
    LOG.info("Embeddings with {}: {}", encoder.spec().architecture(), c);
    return new EmbeddingService(encoder, tokenizer, c, batcher);
  }

  /** The pooling, normalisation and truncation in force. */
  public PoolingChoice choice() {
    return choice;
  }

  /** How inputs are grouped into forwards. */
  public TokenBudgetBatcher batcher() {
    return batcher;
  }

  /** The encoder served. */
  public Encoder encoder() {
    return encoder;
  }

  /**
   * One input.
   *
   * @param text the string to embed
   * @param dimensions the requested width, or null for the model's
   */
  public record Item(String text, Integer dimensions) {}

  /**
   * One output row.
   *
   * @param embedding the vector, or null on error
   * @param promptTokens tokens fed to the model (after truncation, special tokens included)
   * @param truncated whether the input was cut to max_seq_length
   * @param errorCode OpenAI error code ({@code invalid_request_error}, {@code server_error}), or null
   * @param errorMessage what went wrong, or null
   */
  public record Row(float[] embedding, int promptTokens, boolean truncated, String errorCode,
      String errorMessage) {
    /** Whether the row was served. */
    public boolean ok() {
      return errorCode == null;
    }
  }

  /**
   * Figures for one call.
   *
   * @param batches forwards run
   * @param realTokens tokens fed, summed over rows
   * @param paddedTokens tokens computed including padding
   */
  public record Stats(int batches, long realTokens, long paddedTokens) {
    /** realTokens / paddedTokens (1.0 = no padding). */
    public double paddingEfficiency() {
      return paddedTokens == 0 ? 1.0 : (double) realTokens / paddedTokens;
    }
  }

  /**
   * Rows in input order, and figures.
   *
   * @param rows one per input, in input order
   * @param stats figures for the call
   * @param forwards the input indices each encoder forward held, in the order they ran (a
   *     failed forward retried row by row still counts once here)
   */
  public record Result(List<Row> rows, Stats stats, List<int[]> forwards) {}

  /**
   * One input checked and tokenised, ready for a forward; or the row error that stops it.
   *
   * @param ids token ids to feed (truncated to max_seq_length), or null on error
   * @param truncated whether the input was cut
   * @param dimensions the requested width, or null
   * @param error the row's error, or null when it can be served
   */
  public record Prepared(int[] ids, boolean truncated, Integer dimensions, Row error) {}

  /** Embeds {@code texts}, all at the same {@code dimensions} (null = full width). */
  public Result embed(List<String> texts, Integer dimensions) {
    List<Item> items = new ArrayList<>(texts.size());
    texts.forEach(t -> items.add(new Item(t, dimensions)));
    return embedItems(items);
  }

  /** Embeds {@code items}; each row's errors stay in that row. */
  public Result embedItems(List<Item> items) {
    int[] indexes = new int[items.size()];
    Arrays.setAll(indexes, i -> i);
    return run(prepareAll(items, indexes));
  }

  /**
   * {@link #prepare} of every item, in order, {@code indexes[i]} naming item i in errors. Many
   * items are tokenised on all cores (the common fork-join pool): tokenising is serial Java and
   * native work that would otherwise leave libtorch's threads idle before the forwards (~3% of an
   * all-MiniLM-L6-v2 pass on one thread). The tokenizer is thread-safe.
   */
  public List<Prepared> prepareAll(List<Item> items, int[] indexes) {
    Prepared[] out = new Prepared[items.size()];
    IntStream all = IntStream.range(0, out.length);
    (out.length >= PARALLEL_PREPARE ? all.parallel() : all)
        .forEach(i -> out[i] = prepare(items.get(i), indexes[i]));
    return Arrays.asList(out);
  }

  /**
   * Checks and tokenises one input; {@code index} names it in error messages ({@code input[i]}).
   * Never throws for a bad input: the error is in the result.
   */
  public Prepared prepare(Item it, int index) {
    int width = encoder.spec().hiddenSize();
    if (it.text() == null || it.text().isBlank()) {
      return failed(error("invalid_request_error", "Invalid input[" + index + "]: the string is "
          + (it.text() == null ? "null" : it.text().isEmpty() ? "empty" : "all whitespace")
          + "; embeddings need at least one non-whitespace character"));
    }
    if (it.dimensions() != null && (it.dimensions() < 1 || it.dimensions() > width)) {
      return failed(error("invalid_request_error", "Invalid dimensions " + it.dimensions()
          + ": this model's embeddings have " + width + " dimensions; use 1.." + width));
    }
    try {
      int[] full = tokenizer.encode(it.text());
      boolean truncated = full.length > choice.maxSeqLength();
      return new Prepared(truncated ? truncate(full) : full, truncated, it.dimensions(), null);
    } catch (RuntimeException e) {
      return failed(error("invalid_request_error", "Cannot tokenize input[" + index + "]: "
          + e.getMessage()));
    }
  }

  private static Prepared failed(Row error) {
    return new Prepared(null, false, null, error);
  }

  /**
   * Runs prepared inputs through the encoder in length-sorted token-budget batches; rows come back
   * in input order. Inputs may come from many requests: a row's vector depends on its own tokens
   * only (padding is masked), so batch mates change nothing beyond float summation order. A
   * forward that fails is retried row by row, so one bad input fails only its own row.
   */
  public Result run(List<Prepared> inputs) {
    int n = inputs.size();
    Row[] rows = new Row[n];
    List<Integer> live = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (inputs.get(i).error() != null) {
        rows[i] = inputs.get(i).error();
      } else {
        live.add(i);
      }
    }
    int[] lengths = live.stream().mapToInt(i -> inputs.get(i).ids().length).toArray();
    List<TokenBudgetBatcher.Batch> plan = batcher.plan(lengths);
    List<int[]> forwards = new ArrayList<>(plan.size());
    long real = 0;
    long padded = 0;
    for (TokenBudgetBatcher.Batch b : plan) {
      int[] members = new int[b.rows().length];
      for (int k = 0; k < members.length; k++) {
        members[k] = live.get(b.rows()[k]);
      }
      forwards.add(members);
      forward(inputs, members, rows);
      real += b.realTokens();
      padded += b.paddedTokens();
    }
    return new Result(Arrays.asList(rows), new Stats(plan.size(), real, padded), forwards);
  }

  /** One forward over {@code members}; on failure each row alone, so errors stay in their rows. */
  private void forward(List<Prepared> inputs, int[] members, Row[] rows) {
    List<int[]> batch = new ArrayList<>(members.length);
    for (int i : members) {
      batch.add(inputs.get(i).ids());
    }
    try {
      float[][] vectors = encoder.embed(batch, choice.pooling(), choice.normalize());
      for (int k = 0; k < members.length; k++) {
        Prepared p = inputs.get(members[k]);
        rows[members[k]] = new Row(shorten(vectors[k], p.dimensions()), p.ids().length,
            p.truncated(), null, null);
      }
    } catch (RuntimeException e) { // ours, or DJL's (e.g. a token id outside the vocabulary)
      LOG.warn("Embedding batch of {} rows failed: {}", members.length, e.getMessage());
      if (members.length == 1) {
        rows[members[0]] = error("server_error", "Cannot embed this input: " + e.getMessage());
        return;
      }
      for (int i : members) {
        forward(inputs, new int[] {i}, rows);
      }
    }
  }

  /** First tokens, then the trailing special token(s): {@code [CLS] t1 … tk [SEP]}. */
  int[] truncate(int[] full) {
    int max = choice.maxSeqLength();
    int[] out = Arrays.copyOf(full, max);
    System.arraycopy(full, full.length - trailingSpecials, out, max - trailingSpecials,
        trailingSpecials);
    return out;
  }

  /** First {@code dims} components, re-normalised; the full vector when {@code dims} is null. */
  static float[] shorten(float[] v, Integer dims) {
    if (dims == null || dims == v.length) {
      return v;
    }
    float[] out = Arrays.copyOf(v, dims);
    double norm = 0;
    for (float x : out) {
      norm += (double) x * x;
    }
    float scale = (float) (1.0 / Math.max(Math.sqrt(norm), 1e-12));
    for (int i = 0; i < dims; i++) {
      out[i] *= scale;
    }
    return out;
  }

  /** The number of special tokens the tokenizer appends after the text ({@code [SEP]}: 1). */
  private static int trailingSpecials(TokenEncoder tokenizer) {
    int[] empty = tokenizer.encode("");
    int[] some = tokenizer.encode("a");
    int n = 0;
    while (n < empty.length && n < some.length
        && empty[empty.length - 1 - n] == some[some.length - 1 - n]) {
      n++;
    }
    return n;
  }

  private static Row error(String code, String message) {
    return new Row(null, 0, false, code, message);
  }
}
