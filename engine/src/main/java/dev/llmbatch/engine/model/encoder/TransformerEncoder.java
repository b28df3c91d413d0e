package dev.llmbatch.engine.model.encoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.EncoderSpec;
import dev.llmbatch.engine.model.Pooling;
import dev.llmbatch.engine.model.layers.LayerNorm;
import dev.llmbatch.engine.model.layers.Linear;
import dev.llmbatch.engine.runtime.CpuKernels;
import java.util.ArrayList;
import java.util.List;

/**
 * The BERT family as one model: embeddings, N post-LN {@link EncoderLayer}s, optional pooler. What
 * differs per family is settled at load: RoBERTa's position offset, MPNet's relative position bias
 * and missing token-type table.
 */
final class TransformerEncoder implements Encoder {
  private final EncoderConfig config;
  private final EncoderSpec spec;
  private final NDManager manager;
  private final NDArray wordEmbeddings; // (V, H)
  private final NDArray positionEmbeddings; // (P, H)
  private final NDArray tokenTypeEmbedding; // (H): row 0 of the type table, or null
  private final LayerNorm embeddingsNorm;
  private final NDArray relativeAttentionBias; // (buckets, nh), MPNet only
  private final List<EncoderLayer> layers;
  private final Linear pooler; // (H, H) or null

  TransformerEncoder(EncoderConfig config, EncoderSpec spec, NDManager manager,
      NDArray wordEmbeddings, NDArray positionEmbeddings, NDArray tokenTypeEmbedding,
      LayerNorm embeddingsNorm, NDArray relativeAttentionBias, List<EncoderLayer> layers,
      Linear pooler) {
    this.config = config;
    this.spec = spec;
    this.manager = manager;
    this.wordEmbeddings = wordEmbeddings;
    this.positionEmbeddings = positionEmbeddings;
    this.tokenTypeEmbedding = tokenTypeEmbedding;
    this.embeddingsNorm = embeddingsNorm;
    this.relativeAttentionBias = relativeAttentionBias;
    this.layers = List.copyOf(layers);
    this.pooler = pooler;
  }

  @Override
  public EncoderSpec spec() {
    return spec;
  }

  /** Batches are packed without padding ({@link PackedBatch}): their cost is their real tokens. */
  @Override
  public boolean packsBatches() {
    return true;
  }

  @Override
  public float[][] embed(List<int[]> batch, Pooling pooling, boolean normalize) {
    if (batch.isEmpty()) {
      return new float[0][];
    }
    try (NDManager m = manager.newSubManager()) {
      PackedBatch in = pack(batch, m);
      NDArray h = forward(in, m); // (N, H)
      NDArray pooled = pool(h, in, pooling, m); // (B, H), packed row order
      if (normalize) {
        // v / max(||v||, 1e-12), as torch.nn.functional.normalize
        pooled = pooled.div(pooled.norm(new int[] {1}, true).maximum(1e-12f));
      }
      return in.unpack(pooled.toType(DataType.FLOAT32, false).toFloatArray(),
          (int) pooled.getShape().get(1));
    } catch (EngineException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new EngineException("Cannot run encoder " + spec.architecture() + " on a batch of "
          + batch.size() + ": " + e, e);
    }
  }

  @Override
  public float[][][] lastHiddenState(List<int[]> batch) {
    try (NDManager m = manager.newSubManager()) {
      PackedBatch in = pack(batch, m);
      float[] flat = forward(in, m).toType(DataType.FLOAT32, false).toFloatArray();
      int hs = config.hiddenSize();
      float[][][] out = new float[batch.size()][][];
      for (int j = 0; j < in.size(); j++) {
        float[][] rows = new float[in.lengths()[j]][hs];
        for (int p = 0; p < rows.length; p++) {
          System.arraycopy(flat, (in.starts()[j] + p) * hs, rows[p], 0, hs);
        }
        out[in.order()[j]] = rows;
      }
      return out;
    }
  }

  @Override
  public float[][] poolerOutput(List<int[]> batch) {
    if (pooler == null) {
      throw new EngineException("Cannot compute pooler output: " + spec.architecture()
          + " checkpoint has no pooler.dense weights");
    }
    try (NDManager m = manager.newSubManager()) {
      PackedBatch in = pack(batch, m);
      NDArray cls = forward(in, m).get(new NDIndex("{}", in.firstTokens(m))); // (B, H)
      return in.unpack(pooler.apply(cls).tanh().toType(DataType.FLOAT32, false).toFloatArray(),
          config.hiddenSize());
    }
  }

  private PackedBatch pack(List<int[]> batch, NDManager m) {
    if (relativeAttentionBias == null) { // fused CPU attention takes no position bias
      return PackedBatch.of(batch, config, m, null, CpuKernels.serves(wordEmbeddings));
    }
    return PackedBatch.of(batch, config, m,
        t -> embed(relativeAttentionBias, m.create(RelativePositionBias.buckets(t,
            config.relativeAttentionNumBuckets()), new Shape(t, t))) // (T, T, nh)
            .transpose(2, 0, 1).expandDims(0), false); // (1, nh, T, T)
  }

  /**
   * Embeddings then every layer over the packed batch; returns (N, H) in {@code m}. Each layer's
   * temporaries live in a manager of their own, freed as soon as the layer is done, so the next
   * layer reuses the same (cache-warm) memory.
   */
  private NDArray forward(PackedBatch in, NDManager m) {
    // embeddings: word + position (+ token type 0), then LayerNorm
    NDArray x = embed(wordEmbeddings, in.ids()); // (N, H)
    x = x.addi(embed(positionEmbeddings, in.positions()));
    if (tokenTypeEmbedding != null) {
      x = x.addi(tokenTypeEmbedding); // all inputs are single segments: token_type_ids = 0
    }
    x = embeddingsNorm.apply(x);
    for (EncoderLayer layer : layers) {
      try (NDManager lm = m.newSubManager()) {
        x.attach(lm); // the layer's input dies with its temporaries
        x = layer.forward(x, in);
        x.attach(m);
      }
    }
    return x;
  }

  private static NDArray embed(NDArray table, NDArray ids) {
    return ai.djl.nn.core.Embedding.embedding(ids, table, ai.djl.ndarray.types.SparseFormat.DENSE).singletonOrThrow();
  }

  /** (N, H) -> (B, H) in packed row order. */
  private static NDArray pool(NDArray h, PackedBatch in, Pooling pooling, NDManager m) {
    switch (pooling) {
      case CLS:
        return h.get(new NDIndex("{}", in.firstTokens(m)));
      case LASTTOKEN:
        return h.get(new NDIndex("{}", in.lastTokens(m)));
      default:
        break;
    }
    // mean or max over each row's real tokens, one reshape per run of equal lengths
    List<NDArray> parts = new ArrayList<>();
    int j = 0;
    while (j < in.size()) {
      int len = in.lengths()[j];
      int end = j;
      while (end < in.size() && in.lengths()[end] == len) {
        end++;
      }
      NDArray run = PackedBatch.tokens(h, in.starts()[j], in.starts()[end - 1] + len)
          .reshape(end - j, len, h.getShape().get(1));
      parts.add(pooling == Pooling.MEAN ? run.mean(new int[] {1}) : run.max(new int[] {1}));
      j = end;
    }
    return parts.size() == 1 ? parts.get(0) : NDArrays.concat(new NDList(parts), 0);
  }

  @Override
  public void close() {
    manager.close();
  }
}
