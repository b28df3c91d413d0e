package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import dev.llmbatch.engine.runtime.CpuKernels;
import dev.llmbatch.engine.runtime.PackedGemm;

/**
 * A pre-norm transformer block: {@code h = x + attn(norm₁(x)); out = h + mlp(norm₂(h))}, with
 * Gemma2's extra norms on each branch's output when present.
 */
public final class DecoderLayer {
  private final Norm inputNorm; // input_layernorm / ln_1
  private final Attention attention;
  private final Norm postAttentionNorm; // Gemma2 post_attention_layernorm, or null
  private final Norm preMlpNorm; // post_attention_layernorm (Llama) / pre_feedforward_layernorm / ln_2
  private final Mlp mlp;
  private final Norm postMlpNorm; // Gemma2 post_feedforward_layernorm, or null

  public DecoderLayer(Norm inputNorm, Attention attention, Norm postAttentionNorm,
      Norm preMlpNorm, Mlp mlp, Norm postMlpNorm) {
    this.inputNorm = inputNorm;
    this.attention = attention;
    this.postAttentionNorm = postAttentionNorm;
    this.preMlpNorm = preMlpNorm;
    this.mlp = mlp;
    this.postMlpNorm = postMlpNorm;
  }

  /**
   * x (B, T, hidden) → (B, T, hidden); the caches and their slot views as {@link Attention} takes
   * them.
   */
  public NDArray forward(NDArray x, StepBatch s, NDArray keyCache, NDArray valueCache,
      NDArray keySlots, NDArray valueSlots) {
    NDArray residual = postAttentionNorm == null ? x : null;
    return rest(x, attention.forward(inputNorm.apply(x), s, keyCache, valueCache, keySlots,
        valueSlots, residual), residual != null);
  }

  /** A packed step (see {@link PackedStep}): x (1, N, hidden) → (1, N, hidden). */
  public NDArray forward(NDArray x, PackedStep p, NDArray keyCache, NDArray valueCache,
      NDArray keySlots, NDArray valueSlots) {
    NDArray residual = postAttentionNorm == null ? x : null;
    return rest(x, attention.forward(inputNorm.apply(x), p, keyCache, valueCache, keySlots,
        valueSlots, residual), residual != null);
  }

  /**
   * This block as {@link CpuKernels.Stack} runs it, or null where it is not one: RMSNorms (Qwen3's
   * per-head q/k norms and Gemma 2's extra norms included) and a SiLU- or tanh-GELU-gated MLP (the
   * latter packed as a GeGLU pair), or GPT-2's LayerNorms and tanh-GELU MLP; every projection
   * packed (small ones are packed now: {@link Linear#packedForStack}). Call it only where the
   * stack can run ({@link CpuKernels.Stack#runsHere}).
   */
  public CpuKernels.StackLayer stackLayer() {
    boolean rms = inputNorm instanceof RmsNorm && preMlpNorm instanceof RmsNorm;
    boolean layer = inputNorm instanceof LayerNorm && preMlpNorm instanceof LayerNorm;
    if (!(rms || layer)
        || (postAttentionNorm != null
            && !(postAttentionNorm instanceof RmsNorm r1 && r1.weight() != null))
        || (postMlpNorm != null && !(postMlpNorm instanceof RmsNorm r2 && r2.weight() != null))) {
      return null; // (a branch norm's scale is never folded away: the stack reads a null as none)
    }
    PackedGemm[] ffn = mlp instanceof GatedMlp gated && rms ? gated.stackProjections()
        : mlp instanceof PlainMlp plain && layer ? plain.stackProjections() : null;
    Attention.StackParts att = ffn == null ? null : attention.stackParts();
    if (att == null) {
      return null;
    }
    RmsNorm q = att.qNorm();
    RmsNorm k = att.kNorm();
    Norm pa = postAttentionNorm; // (Gemma 2's; else null)
    Norm pm = postMlpNorm;
    return new CpuKernels.StackLayer(inputNorm.weight(), inputNorm.eps(), att.qkv(), att.o(),
        att.heads(), q == null ? null : q.weight(), k == null ? null : k.weight(),
        q == null ? 0 : q.eps(), preMlpNorm.weight(), preMlpNorm.eps(), ffn[0], ffn[1],
        pa == null ? null : pa.weight(), pa == null ? 0 : pa.eps(),
        pm == null ? null : pm.weight(), pm == null ? 0 : pm.eps(), inputNorm.bias(),
        preMlpNorm.bias(), layer);
  }

  /**
   * The block after attention: residuals, the MLP and Gemma2's extra norms. Without those norms
   * each residual sum comes out of the branch's last linear ({@link Linear#applyWithResidual}):
   * {@code summed} says the attention output already is {@code x + attn}.
   */
  private NDArray rest(NDArray x, NDArray attended, boolean summed) {
    NDArray h = attended;
    if (!summed) {
      h = x.add(postAttentionNorm != null ? postAttentionNorm.apply(attended) : attended);
    }
    // feed-forward with residual connection
    NDArray normed = preMlpNorm.apply(h);
    if (postMlpNorm == null) {
      return mlp.applyWithResidual(normed, h);
    }
    return h.addi(postMlpNorm.apply(mlp.apply(normed)));
  }
}
