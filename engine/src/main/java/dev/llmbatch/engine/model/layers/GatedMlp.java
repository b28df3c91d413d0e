package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.llmbatch.engine.runtime.CpuKernels;
import dev.llmbatch.engine.runtime.PackedGemm;

/**
 * {@code down(act(gate(x)) * up(x))} (SwiGLU, Gemma's GeGLU). gate_proj and up_proj are fused into
 * one (2·I, hidden) matmul at load (Phi-3 stores them fused already): one op fewer per decode step.
 * A SiLU or tanh-GELU gate|up linear marked as a SwiGLU or GeGLU pair ({@link #gateUp}) is gated
 * inside the engine's GEMM where it packs.
 */
public final class GatedMlp implements Mlp {
  private final Linear gateUp; // (2I, hidden): gate rows first, then up
  private final Linear down; // (hidden, I)
  private final Activation act;
  private final long[] splitAt;

  public GatedMlp(Linear gateUp, Linear down, Activation act, int intermediate) {
    this.gateUp = gateUp;
    this.down = down;
    this.act = act;
    this.splitAt = new long[] {intermediate};
  }

  /**
   * The fused gate|up linear (2·I, hidden) as this MLP wants it packed: for a SiLU or tanh-GELU
   * gate, a packable linear not yet packed is marked as a SwiGLU or GeGLU pair ({@link
   * Linear#asGlu}), so the GEMM gates it; else {@code gateUp} itself. A loader calls this before
   * packing.
   */
  public static Linear gateUp(Linear gateUp, Activation act, int intermediate) {
    PackedGemm.Gate gate = gateOf(act);
    return gate != null && gateUp.isPackable() ? gateUp.asGlu(intermediate, gate) : gateUp;
  }

  /** The packed GEMM's gate for {@code act}; null for one it does not gate (the erf GELU). */
  private static PackedGemm.Gate gateOf(Activation act) {
    return switch (act) {
      case SILU -> PackedGemm.Gate.SILU;
      case GELU_TANH -> PackedGemm.Gate.GELU_TANH;
      case GELU -> null;
    };
  }

  @Override
  public NDArray apply(NDArray x) {
    return down.apply(gated(x)); // (B, T, hidden)
  }

  @Override
  public NDArray applyWithResidual(NDArray x, NDArray residual) {
    return down.applyWithResidual(gated(x), residual);
  }

  /**
   * The packed gate|up and down projections, for the native layer stack, packed whatever their
   * size ({@link Linear#packedForStack}); null unless both pack here and the gate is SiLU (the
   * stack gates a plain gate|up product with SiLU) or gate|up packed as a pair with this MLP's
   * gate (GeGLU).
   */
  PackedGemm[] stackProjections() {
    PackedGemm.Gate gate = gateOf(act);
    if (gate == null) {
      return null;
    }
    PackedGemm a = gateUp.packedForStack();
    PackedGemm b = down.packedForStack();
    if (a == null || b == null
        || (gate != PackedGemm.Gate.SILU && (a.swiGluSplit() == 0 || a.gate() != gate))) {
      return null;
    }
    return new PackedGemm[] {a, b};
  }

  /** act(gate(x)) * up(x): (B, T, hidden) → (B, T, I). */
  private NDArray gated(NDArray x) {
    NDArray g = gateUp.swiGlu(x); // null unless packed as a SwiGLU or GeGLU pair
    if (g != null) {
      return g; // packed as a pair: gated in the GEMM
    }
    NDArray gu = gateUp.apply(x); // (B, T, 2I)
    if (act == Activation.SILU && CpuKernels.serves(gu)) {
      return CpuKernels.siluMul(gu); // one call instead of four ops
    }
    if (act == Activation.GELU_TANH && CpuKernels.serves(gu)) {
      return CpuKernels.geluTanhMul(gu); // one call instead of nine
    }
    NDList parts = gu.split(splitAt, gu.getShape().dimension() - 1); // 2 × (B, T, I)
    return act.apply(parts.get(0)).muli(parts.get(1));
  }
}
