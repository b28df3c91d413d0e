package dev.llmbatch.engine.model.encoder;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import dev.llmbatch.engine.model.layers.LayerNorm;
import dev.llmbatch.engine.model.layers.Linear;

/**
 * One post-LN transformer encoder layer, shared by BERT, RoBERTa and MPNet (they differ only in
 * checkpoint names and in MPNet's relative position bias, passed in as {@code bias}).
 *
 * @param qkv query, key and value projections fused into one (3H, H) matmul
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
   * @param x (B, T, H) hidden states
   * @param bias (B, 1, 1, T) additive key mask, or (B, nh, T, T) mask plus position bias
   * @return (B, T, H)
   */
  NDArray forward(NDArray x, NDArray bias) {
    long b = x.getShape().get(0);
    long t = x.getShape().get(1);
    long h = x.getShape().get(2);
    long d = h / numHeads;
    // self-attention
    NDArray qkvOut = qkv.apply(x); // (B, T, 3H)
    NDArray heads = qkvOut.reshape(b, t, 3, numHeads, d).transpose(2, 0, 3, 1, 4); // (3, B, nh, T, d)
    NDArray q = heads.get(0); // (B, nh, T, d)
    NDArray k = heads.get(1);
    NDArray v = heads.get(2);
    NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).muli(1.0 / Math.sqrt(d)); // (B, nh, T, T)
    NDArray probs = scores.addi(bias).softmax(-1);
    NDArray ctx = probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, h); // (B, T, H)
    // residual connection, then LayerNorm (post-LN)
    NDArray attended = attnNorm.apply(attnOut.apply(ctx).addi(x));
    // MLP
    NDArray inner = activation(intermediate.apply(attended)); // (B, T, I)
    return outNorm.apply(output.apply(inner).addi(attended)); // (B, T, H)
  }

  private NDArray activation(NDArray x) {
    return switch (act) {
      case "gelu" -> Activation.gelu(x); // erf form, as HF's "gelu"
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
    return qkv.weight().size() + attnOut.weight().size() + intermediate.weight().size()
        + output.weight().size();
  }
}
