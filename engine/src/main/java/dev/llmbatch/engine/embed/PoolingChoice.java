package dev.llmbatch.engine.embed;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.Pooling;
import dev.llmbatch.flavor.hf.PoolingMode;
import dev.llmbatch.flavor.hf.SentenceTransformers;
import java.nio.file.Path;
import java.util.Optional;

/**
 * How an embedding model pools, normalises and truncates, and where that came from. Precedence:
 * an explicit override, then the model's sentence-transformers files ({@code modules.json},
 * {@code 1_Pooling/config.json}, a {@code Normalize} module, {@code sentence_bert_config.json}),
 * then the default: mean pooling (last-token for decoder-based models) + L2 normalisation over the
 * model's full position range.
 *
 * @param pooling how hidden states become one vector
 * @param normalize whether vectors are L2-normalised
 * @param maxSeqLength inputs are truncated to this many tokens (special tokens included)
 * @param source a human-readable account of the choice, logged once per model
 */
public record PoolingChoice(Pooling pooling, boolean normalize, int maxSeqLength, String source) {
  public PoolingChoice {
    if (pooling == null || maxSeqLength <= 0) {
      throw new EngineException("Invalid pooling choice: pooling " + pooling + ", max_seq_length "
          + maxSeqLength);
    }
  }

  /**
   * Overrides given per job; null fields mean "take the model's".
   *
   * @param pooling e.g. {@code MEAN}, or null
   * @param normalize L2 or not, or null
   * @param maxSeqLength a cap on input tokens, or null
   */
  public record Overrides(Pooling pooling, Boolean normalize, Integer maxSeqLength) {
    /** No overrides. */
    public static final Overrides NONE = new Overrides(null, null, null);
  }

  /**
   * Resolves the choice for the model in {@code modelDir} whose position table allows
   * {@code maxPositions} tokens.
   */
  public static PoolingChoice resolve(Path modelDir, int maxPositions, Overrides o) {
    return resolve(modelDir, maxPositions, o, Pooling.MEAN);
  }

  /**
   * As {@link #resolve(Path, int, Overrides)}, with {@code fallback} pooling when the model has no
   * sentence-transformers pooling: {@code MEAN} for encoders, {@code LASTTOKEN} for decoder-based
   * embedding models (what Qwen3-Embedding, gte-Qwen2 and e5-mistral use; a decoder's mean would
   * mostly weigh its earliest, least contextual states).
   */
  public static PoolingChoice resolve(Path modelDir, int maxPositions, Overrides o,
      Pooling fallback) {
    Optional<SentenceTransformers> st = SentenceTransformers.read(modelDir);
    Pooling pooling = fallback;
    boolean normalize = true;
    int maxSeq = maxPositions;
    StringBuilder src = new StringBuilder();
    if (st.isPresent()) {
      SentenceTransformers s = st.get();
      if (s.poolingModes().size() > 1) {
        throw new EngineException("Cannot use pooling of " + modelDir + ": 1_Pooling/config.json"
            + " switches on " + s.poolingModes() + "; only one mode at a time is supported");
      }
      if (s.poolingMode().isPresent()) {
        pooling = of(s.poolingMode().get(), modelDir);
      }
      normalize = s.normalize();
      if (s.maxSeqLength() != null) {
        maxSeq = Math.min(s.maxSeqLength(), maxPositions);
      }
      src.append("sentence-transformers files in ").append(modelDir);
    } else {
      src.append("default for ").append(fallback == Pooling.LASTTOKEN ? "a decoder" : "an encoder")
          .append(" (no modules.json in ").append(modelDir).append(')');
    }
    if (o.pooling() != null || o.normalize() != null || o.maxSeqLength() != null) {
      src.append(", overridden by the job");
    }
    if (o.pooling() != null) {
      pooling = o.pooling();
    }
    if (o.normalize() != null) {
      normalize = o.normalize();
    }
    if (o.maxSeqLength() != null) {
      if (o.maxSeqLength() <= 0 || o.maxSeqLength() > maxPositions) {
        throw new EngineException("Invalid max_seq_length " + o.maxSeqLength() + ": must be 1.."
            + maxPositions + " (the model's position embeddings)");
      }
      maxSeq = o.maxSeqLength();
    }
    return new PoolingChoice(pooling, normalize, maxSeq, src.toString());
  }

  private static Pooling of(PoolingMode mode, Path dir) {
    return switch (mode) {
      case CLS -> Pooling.CLS;
      case MEAN -> Pooling.MEAN;
      case MAX -> Pooling.MAX;
      case LAST_TOKEN -> Pooling.LASTTOKEN;
      case MEAN_SQRT_LEN, WEIGHTED_MEAN -> throw new EngineException("Cannot use pooling of " + dir
          + ": mode " + mode.key() + " is not supported (supported: cls, mean, max, lasttoken);"
          + " override the pooling for this job");
    };
  }

  @Override
  public String toString() {
    return pooling.id() + (normalize ? " + L2" : "") + ", max_seq_length " + maxSeqLength + " ("
        + source + ")";
  }
}
