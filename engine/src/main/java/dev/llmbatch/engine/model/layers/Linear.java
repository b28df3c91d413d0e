package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** {@code y = x·Wᵀ + b}: one libtorch {@code linear} call, bias optional. */
public final class Linear {
  private final NDArray weight; // (out, in)
  private final NDArray bias; // (out) or null

  public Linear(NDArray weight, NDArray bias) {
    this.weight = weight;
    this.bias = bias;
  }

  /** (…, in) → (…, out). */
  public NDArray apply(NDArray x) {
    return x.getNDArrayInternal().linear(x, weight, bias).singletonOrThrow();
  }

  /**
   * This linear applied to {@code x·g} instead of {@code x}: {@code W' = W·diag(g)} (columns scaled,
   * bias unchanged), so the RMSNorm feeding it can drop its own multiply. A new weight replaces this
   * one, which is closed (it is owned by this linear alone).
   *
   * @param g (in)
   */
  public Linear scaledInputs(NDArray g) {
    NDArray w = weight.mul(g.toType(weight.getDataType(), false).reshape(1, -1)); // (out, in)
    w.attach(weight.getManager());
    weight.close();
    return new Linear(w, bias);
  }

  /**
   * This linear with its first {@code rows} outputs multiplied by {@code s} (weight rows and bias):
   * attention's 1/√d folded into the q projection. The old weight and bias are closed.
   */
  public Linear scaledOutputs(long rows, float s) {
    long out = weight.getShape().get(0);
    float[] f = new float[(int) out];
    java.util.Arrays.fill(f, 0, (int) rows, s);
    java.util.Arrays.fill(f, (int) rows, (int) out, 1f);
    try (NDManager tmp = weight.getManager().newSubManager()) {
      NDArray col = tmp.create(f).toType(weight.getDataType(), false); // (out)
      NDArray w = weight.mul(col.reshape(out, 1));
      w.attach(weight.getManager());
      NDArray b = null;
      if (bias != null) {
        b = bias.mul(col);
        b.attach(bias.getManager());
        bias.close();
      }
      weight.close();
      return new Linear(w, b);
    }
  }

  /** The weight (out, in). */
  public NDArray weight() {
    return weight;
  }

  /** The bias (out), or null. */
  public NDArray bias() {
    return bias;
  }

  /** Parameters held (weight and bias). */
  public long parameters() {
    return weight.size() + (bias == null ? 0 : bias.size());
  }
}
