package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;

/** {@code proj(act(fc(x)))}: GPT-2's c_fc → gelu_new → c_proj. */
public final class PlainMlp implements Mlp {
  private final Linear fc; // (I, hidden)
  private final Linear proj; // (hidden, I)
  private final Activation act;

  public PlainMlp(Linear fc, Linear proj, Activation act) {
    this.fc = fc;
    this.proj = proj;
    this.act = act;
  }

  @Override
  public NDArray apply(NDArray x) {
    return proj.apply(act.apply(fc.apply(x))); // (B, T, I) → (B, T, hidden)
  }

  @Override
  public NDArray applyWithResidual(NDArray x, NDArray residual) {
    return proj.applyWithResidual(act.apply(fc.apply(x)), residual);
  }
}
