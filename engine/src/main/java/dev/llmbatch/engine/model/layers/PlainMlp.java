package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import dev.llmbatch.engine.runtime.CpuKernels;
import dev.llmbatch.engine.runtime.PackedGemm;

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
    return proj.apply(activated(x)); // (B, T, I) → (B, T, hidden)
  }

  @Override
  public NDArray applyWithResidual(NDArray x, NDArray residual) {
    return proj.applyWithResidual(activated(x), residual);
  }

  /** act(fc(x)): the tanh GELU on the CPU in float32 in place, one native pass. */
  private NDArray activated(NDArray x) {
    NDArray h = fc.apply(x); // (B, T, I), fresh
    if (act == Activation.GELU_TANH && CpuKernels.serves(h)) {
      return CpuKernels.geluTanhInPlace(h); // one call instead of nine
    }
    return act.apply(h);
  }

  /**
   * c_fc and c_proj packed for the native layer stack whatever their size ({@link
   * Linear#packedForStack}), where the activation is the tanh GELU (the stack's); else null.
   */
  PackedGemm[] stackProjections() {
    if (act != Activation.GELU_TANH) {
      return null;
    }
    PackedGemm a = fc.packedForStack();
    PackedGemm b = proj.packedForStack();
    return a == null || b == null ? null : new PackedGemm[] {a, b};
  }
}
