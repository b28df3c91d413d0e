package dev.llmbatch.engine.model.encoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Activation;
import dev.llmbatch.engine.model.layers.LayerNorm;
import dev.llmbatch.engine.model.layers.Linear;
import dev.llmbatch.engine.runtime.CpuKernels;
import java.util.ArrayList;
import java.util.List;

/**
 * One post-LN transformer encoder layer, shared by BERT, RoBERTa and MPNet (they differ only in
 * checkpoint names and in MPNet's relative position bias, passed in as {@code bias}).
 *
 * @param qkv query, key and value projections fused into one (3H, H) matmul, the query rows
 *     scaled by 1/√head_dim
 * @param attnOut attention output projection (H, H)
 * @param attnNorm LayerNorm after the attention residual
 * @param intermediate (I, H)
 * @param output (H, I)
 * @param outNorm LayerNorm after the MLP residual
 * @param numHeads attention heads
 * @param act hidden_act
 */
record EncoderLayer(Linear qkv, Linear attnOut, LayerNorm attnNorm, Linear intermediate,
    Linear output, LayerNorm outNorm, int numHeads, String act) {

  /**
   * One layer over a packed batch: the projections, norms and MLP run over all real tokens at
   * once, with no padding; attention runs per {@link PackedBatch.Group} (rows of near-equal length,
   * a bounded score tensor each) — or, on the CPU in float32, in one fused call over all rows
   * ({@link CpuKernels}). Attention's 1/√d is folded into {@code qkv}'s query rows at load.
   * Every temporary belongs to {@code x}'s manager.
   *
   * @param x (N, H) hidden states of the batch's N real tokens, in packed order
   * @return (N, H)
   */
  NDArray forward(NDArray x, PackedBatch batch) {
    long h = x.getShape().get(1);
    long d = h / numHeads;
    NDArray qkvOut = qkv.apply(x); // (N, 3H)
    NDArray ctx = batch.fused()
        ? CpuKernels.bidirectional(qkvOut, numHeads, (int) d, batch.starts(), batch.lengths())
        : attention(qkvOut, batch, h, d);
    qkvOut.close();
    // residual connection, then LayerNorm (post-LN): one fused pass on the CPU
    NDArray attended = attnNorm.applyToSum(attnOut.apply(ctx), x);
    ctx.close();
    // MLP
    NDArray inner = activation(intermediate.apply(attended)); // (N, I)
    NDArray out = outNorm.applyToSum(output.apply(inner), attended); // (N, H)
    inner.close();
    return out;
  }

  /** Attention as libtorch ops, per group: (N, 3H) → (N, H). */
  private NDArray attention(NDArray qkvOut, PackedBatch batch, long h, long d) {
    List<NDArray> parts = new ArrayList<>(batch.groups().size());
    for (PackedBatch.Group g : batch.groups()) {
      NDArray rows = g.gather() == null
          ? PackedBatch.tokens(qkvOut, g.firstToken(), g.endToken())
          : qkvOut.get(new NDIndex("{}", g.gather())); // (G·T, 3H), pads repeat a real token
      long t = g.maxLen();
      NDArray heads = rows.reshape(g.rows(), t, 3, numHeads, d).transpose(2, 0, 3, 1, 4);
      NDArray q = heads.get(0); // (G, nh, T, d)
      NDArray k = heads.get(1);
      NDArray v = heads.get(2);
      NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)); // (G, nh, T, T)
      if (g.positionBias() != null) {
        scores = scores.addi(g.positionBias()); // MPNet: (1, nh, T, T)
      }
      if (g.keyMask() != null) {
        scores = scores.addi(g.keyMask()); // (G, 1, 1, T): padded keys
      }
      NDArray probs = scores.softmax(-1);
      scores.close();
      NDArray ctx = probs.matMul(v).transpose(0, 2, 1, 3).reshape(g.rows() * t, h);
      probs.close();
      parts.add(g.scatter() == null ? ctx : ctx.get(new NDIndex("{}", g.scatter())));
    }
    return parts.size() == 1 ? parts.get(0) : NDArrays.concat(new NDList(parts), 0);
  }

  private NDArray activation(NDArray x) {
    return switch (act) {
      // erf form, as HF's "gelu"; in place on the CPU (x is the fresh output of a linear)
      case "gelu" -> CpuKernels.serves(x) ? CpuKernels.geluInPlace(x) : Activation.gelu(x);
      case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> {
        // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        NDArray inner = x.pow(3).muli(0.044715).addi(x).muli(Math.sqrt(2.0 / Math.PI)).tanh();
        yield inner.addi(1).muli(x).muli(0.5);
      }
      case "relu" -> Activation.relu(x);
      default -> throw new IllegalStateException("unreachable: hidden_act checked at load");
    };
  }

  /** Matmul parameters of this layer. */
  long matmulParameters() {
    return qkv.weightParameters() + attnOut.weightParameters() + intermediate.weightParameters()
        + output.weightParameters();
  }
}
