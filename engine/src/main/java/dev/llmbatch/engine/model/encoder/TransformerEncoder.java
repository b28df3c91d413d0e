package dev.llmbatch.engine.model.encoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.EncoderSpec;
import dev.llmbatch.engine.model.Pooling;
import dev.llmbatch.engine.model.layers.LayerNorm;
import dev.llmbatch.engine.model.layers.Linear;
import java.util.ArrayList;
import java.util.List;

/**
 * The BERT family as one model: embeddings, N post-LN {@link EncoderLayer}s, optional pooler. What
 * differs per family is settled at load: RoBERTa's position offset, MPNet's relative position bias
 * and missing token-type table.
 */
final class TransformerEncoder implements Encoder {
  /** Added to attention scores of padded keys: large enough to zero them after softmax. */
  private static final float MASKED = -1e30f;

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

  @Override
  public float[][] embed(List<int[]> batch, Pooling pooling, boolean normalize) {
    if (batch.isEmpty()) {
      return new float[0][];
    }
    try (NDManager m = manager.newSubManager()) {
      Batch in = Batch.of(batch, config, m);
      NDArray h = forward(in, m); // (B, T, H)
      NDArray pooled = pool(h, in, pooling, m); // (B, H)
      if (normalize) {
        // v / max(||v||, 1e-12), as torch.nn.functional.normalize
        pooled = pooled.div(pooled.norm(new int[] {1}, true).maximum(1e-12f));
      }
      return split(pooled.toType(DataType.FLOAT32, false).toFloatArray(), batch.size());
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
      Batch in = Batch.of(batch, config, m);
      NDArray h = forward(in, m).toType(DataType.FLOAT32, false);
      int t = in.maxLen();
      int hs = config.hiddenSize();
      float[] flat = h.toFloatArray();
      float[][][] out = new float[batch.size()][][];
      for (int b = 0; b < batch.size(); b++) {
        out[b] = new float[batch.get(b).length][hs];
        for (int p = 0; p < batch.get(b).length; p++) {
          System.arraycopy(flat, (b * t + p) * hs, out[b][p], 0, hs);
        }
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
      Batch in = Batch.of(batch, config, m);
      NDArray cls = forward(in, m).get(":, 0, :"); // (B, H)
      return split(pooler.apply(cls).tanh().toType(DataType.FLOAT32, false).toFloatArray(),
          batch.size());
    }
  }

  /** Embeddings then every layer. Returns (B, T, H); padded positions hold garbage. */
  private NDArray forward(Batch in, NDManager m) {
    long b = in.size();
    long t = in.maxLen();
    // embeddings: word + position (+ token type 0), then LayerNorm
    NDArray x = embed(wordEmbeddings, in.ids()); // (B, T, H)
    x = x.addi(embed(positionEmbeddings, in.positions()));
    if (tokenTypeEmbedding != null) {
      x = x.addi(tokenTypeEmbedding); // all inputs are single segments: token_type_ids = 0
    }
    x = embeddingsNorm.apply(x);
    // additive key mask (B, 1, 1, T): 0 for real tokens, MASKED for padding
    NDArray bias = in.mask().toType(x.getDataType(), false).neg().add(1).muli(MASKED)
        .reshape(b, 1, 1, t);
    if (relativeAttentionBias != null) {
      NDArray buckets = m.create(RelativePositionBias.buckets((int) t,
          config.relativeAttentionNumBuckets()), new Shape(t, t));
      NDArray pos = embed(relativeAttentionBias, buckets) // (T, T, nh)
          .transpose(2, 0, 1).expandDims(0); // (1, nh, T, T)
      bias = pos.add(bias); // (B, nh, T, T)
    }
    for (EncoderLayer layer : layers) {
      x = layer.forward(x, bias);
    }
    return x;
  }

  private static NDArray embed(NDArray table, NDArray ids) {
    return ai.djl.nn.core.Embedding.embedding(ids, table, ai.djl.ndarray.types.SparseFormat.DENSE).singletonOrThrow();
  }

  /** (B, T, H) -> (B, H) on the device. */
  private static NDArray pool(NDArray h, Batch in, Pooling pooling, NDManager m) {
    NDArray mask = in.mask().toType(h.getDataType(), false).expandDims(2); // (B, T, 1)
    return switch (pooling) {
      case CLS -> h.get(":, 0, :");
      case MEAN -> h.mul(mask).sum(new int[] {1})
          .div(mask.sum(new int[] {1}).maximum(1e-9f)); // sentence-transformers' clamp
      case MAX -> h.add(mask.neg().add(1).mul(-1e9f)).max(new int[] {1}); // pads set to -1e9
      case LASTTOKEN -> h.mul(in.lastTokenSelector(m).toType(h.getDataType(), false)
          .expandDims(2)).sum(new int[] {1}); // one-hot select: exact
    };
  }

  private static float[][] split(float[] flat, int rows) {
    int width = flat.length / rows;
    float[][] out = new float[rows][width];
    for (int r = 0; r < rows; r++) {
      System.arraycopy(flat, r * width, out[r], 0, width);
    }
    return out;
  }

  @Override
  public void close() {
    manager.close();
  }

  /** Padded device tensors for one batch. */
  private record Batch(int size, int maxLen, NDArray ids, NDArray positions, NDArray mask,
      int[] lengths) {

    static Batch of(List<int[]> rows, EncoderConfig c, NDManager m) {
      int b = rows.size();
      int t = 0;
      for (int[] r : rows) {
        if (r.length == 0) {
          throw new EngineException("Cannot encode an empty token sequence: every input needs at"
              + " least one token (the tokenizer's special tokens)");
        }
        if (r.length > c.maxTokens()) {
          throw new EngineException("Cannot encode a sequence of " + r.length + " tokens: "
              + c.architecture() + " allows at most " + c.maxTokens()
              + " (max_position_embeddings); truncate first");
        }
        t = Math.max(t, r.length);
      }
      long[] ids = new long[b * t];
      long[] pos = new long[b * t];
      long[] mask = new long[b * t];
      int[] lengths = new int[b];
      int offset = c.positionOffset();
      for (int i = 0; i < b; i++) {
        int[] r = rows.get(i);
        lengths[i] = r.length;
        for (int p = 0; p < t; p++) {
          boolean real = p < r.length;
          int id = real ? r[p] : c.padTokenId();
          if (real && (id < 0 || id >= c.vocabSize())) {
            throw new EngineException("Cannot encode token id " + id + " at position " + p
                + " of input " + i + ": outside the vocabulary 0.." + (c.vocabSize() - 1));
          }
          ids[i * t + p] = id;
          // RoBERTa-style: real tokens count from padding_idx + 1, pads sit at padding_idx
          pos[i * t + p] = offset == 0 ? p : (real ? offset + p : c.padTokenId());
          mask[i * t + p] = real ? 1 : 0;
        }
      }
      Shape shape = new Shape(b, t);
      return new Batch(b, t, m.create(ids, shape), m.create(pos, shape), m.create(mask, shape),
          lengths);
    }

    /** (B, T) one-hot at each row's last real token. */
    NDArray lastTokenSelector(NDManager m) {
      float[] sel = new float[size * maxLen];
      for (int i = 0; i < size; i++) {
        sel[i * maxLen + lengths[i] - 1] = 1f;
      }
      return m.create(sel, new Shape(size, maxLen));
    }
  }
}
