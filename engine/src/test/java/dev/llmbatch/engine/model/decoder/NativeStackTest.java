package dev.llmbatch.engine.model.decoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.KvCache;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.runtime.CpuKernels;
import dev.llmbatch.engine.runtime.PackedGemm;
import dev.llmbatch.engine.testing.TinyDecoders;
import dev.llmbatch.flavor.safetensors.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The native layer stack ({@code CpuKernels.Stack}) runs the kernels of the layer-by-layer path in
 * its order, so its logits must be that path's bit for bit — the same model loaded with {@code
 * LLM_BATCH_NATIVE_STACK} off — through prefill, chunks beside decode rows, sliding windows and
 * q/k/v biases, 16-bit panels, and two threads (the team splits the GEMM, norm and attention work
 * the same way on both paths). Qwen3's per-head q/k norms are the same kernel's on both paths,
 * but layer by layer its normed queries and keys rotate in libtorch ops, so its logits agree
 * within {@link DecoderArchitecturesTest#TOL} rather than bit for bit. Gemma's GeGLU runs as a
 * gate|up pair gated in the GEMM on both paths; Gemma 2's extra norms and its soft-capped,
 * alternately windowed attention as the layer-by-layer path's kernels and add; GPT-2's LayerNorms,
 * tanh-GELU MLP and attention without rotary (its learned positions are added before the stack)
 * too. Every architecture runs as the stack.
 */
class NativeStackTest {
  /** The architectures whose every block the stack runs. */
  static final Set<String> STACKED = Set.of("llama", "mistral", "qwen2", "phi3", "qwen3", "gemma",
      "gemma2", "gpt2");
  /** The architectures whose gate|up packs as a gated pair (SwiGLU, GeGLU): all but GPT-2. */
  static final Set<String> PAIRED = Set.of("llama", "mistral", "qwen2", "phi3", "qwen3", "gemma",
      "gemma2");
  static final LoadOptions TWO_THREADS = new LoadOptions("cpu", ComputeDtype.FP32, 2);

  @TempDir Path tmp;

  static List<Arguments> typesAndDtypes() {
    List<Arguments> all = new ArrayList<>();
    for (String type : TinyDecoders.MODEL_TYPES) {
      for (DType d : new DType[] {DType.F32, DType.BF16}) {
        all.add(Arguments.of(type, d));
      }
    }
    return all;
  }

  @ParameterizedTest
  @MethodSource("typesAndDtypes")
  void theStackGivesTheLayerByLayerLogitsBitForBit(String type, DType dtype) {
    // hidden 256: every projection is big enough to pack on its own
    Path dir = tinyModel(type + "-" + dtype, type, 256, dtype);
    long pairs = PackedGemm.swiGluPacked();
    try (CausalLm stacked = Architectures.loadCausalLm(dir, TWO_THREADS);
        CausalLm perOp = loadWithoutStack(dir)) {
      assertEquals(STACKED.contains(type), ((DecoderModel) stacked).runsNativeStack(),
          type + ": runs the native stack");
      // gated MLPs (SiLU, and Gemma's tanh GELU) pack gate|up as pairs, in both models
      assertEquals(pairs + (PAIRED.contains(type) ? 2 * stacked.spec().numLayers() : 0),
          PackedGemm.swiGluPacked(), type + ": gate|up packed as SwiGLU or GeGLU pairs");
      assertTrue(!((DecoderModel) perOp).runsNativeStack(), "LLM_BATCH_NATIVE_STACK=0 is obeyed");
      try (KvCache a = stacked.allocateCache(4, 40); KvCache b = perOp.allocateCache(4, 40)) {
        int[] pos = new int[4];
        List<List<StepInput>> steps = new ArrayList<>();
        // prefills of different lengths in slots out of order, one of a single token
        steps.add(List.of(input(2, pos, 12, 1), input(0, pos, 7, 2), input(1, pos, 1, 3)));
        for (int s = 0; s < 9; s++) {
          List<StepInput> in = new ArrayList<>();
          in.add(input(s % 2 == 0 ? 0 : 1, pos, 1, 10 + s));
          in.add(input(2, pos, 1, 30 + s)); // slot 2 passes the window of 5 (Mistral) at once
          if (s % 2 == 0) {
            in.add(input(1, pos, 1, 50 + s)); // and slot 1 too
          }
          if (s == 3 || s == 4) { // slot 3 arrives in two chunks beside the decode rows
            in.add(input(3, pos, 6, 70 + s));
          }
          steps.add(in);
        }
        for (int s = 0; s < steps.size(); s++) {
          List<StepInput> in = steps.get(s);
          float[][] la = stacked.step(a, in);
          float[][] lb = perOp.step(b, in);
          for (int i = 0; i < in.size(); i++) {
            String what = type + " " + dtype + " step " + s + " input " + i + " (slot "
                + in.get(i).slot() + ", position " + in.get(i).startPos() + ")";
            if (type.equals("qwen3")) { // layer by layer, its normed q/k rotate in libtorch ops
              DecoderArchitecturesTest.close(lb[i], la[i], what);
            } else {
              assertArrayEquals(lb[i], la[i], what);
            }
          }
        }
      }
    }
  }

  static List<Arguments> stackedTypesAndDtypes() {
    return typesAndDtypes().stream().filter(a -> STACKED.contains((String) a.get()[0])).toList();
  }

  /**
   * A model of small projections (hidden 64: every weight under the size a separate packed call
   * pays for, which therefore stays on libtorch's linear) still runs as the stack: its layers'
   * projections are packed for it, and only for it (with the stack off they are not), and it
   * agrees with the layer-by-layer path, whose small linears are libtorch's (hence a tolerance,
   * not bit for bit).
   */
  @ParameterizedTest
  @MethodSource("stackedTypesAndDtypes")
  void aModelOfSmallProjectionsPacksThemForTheStack(String type, DType dtype) {
    Path dir = tinyModel(type + "-small-" + dtype, type, 64, dtype);
    long before = PackedGemm.packed();
    try (CausalLm stacked = Architectures.loadCausalLm(dir, TWO_THREADS)) {
      long packedForStack = PackedGemm.packed() - before;
      assertTrue(((DecoderModel) stacked).runsNativeStack(), type + ": runs the native stack");
      // q|k|v, o, gate|up and down of every layer (the LM head, 96 × 64, stays small)
      assertEquals(4L * stacked.spec().numLayers(), packedForStack, type + ": packed weights");
      long perOpBefore = PackedGemm.packed();
      try (CausalLm perOp = loadWithoutStack(dir)) {
        assertEquals(perOpBefore, PackedGemm.packed(), "without the stack nothing small packs");
        try (KvCache a = stacked.allocateCache(3, 24); KvCache b = perOp.allocateCache(3, 24)) {
          int[] pos = new int[3];
          List<List<StepInput>> steps = new ArrayList<>();
          steps.add(List.of(input(1, pos, 9, 1), input(0, pos, 4, 2)));
          for (int s = 0; s < 6; s++) {
            List<StepInput> in = new ArrayList<>(List.of(input(0, pos, 1, 10 + s),
                input(1, pos, 1, 20 + s)));
            if (s == 2) {
              in.add(input(2, pos, 5, 30)); // a prompt beside the decode rows
            }
            steps.add(in);
          }
          for (int s = 0; s < steps.size(); s++) {
            List<StepInput> in = steps.get(s);
            long stacks = CpuKernels.Stack.steps();
            float[][] la = stacked.step(a, in);
            assertEquals(stacks + 1, CpuKernels.Stack.steps(), "step " + s + " is stacked");
            float[][] lb = perOp.step(b, in);
            for (int i = 0; i < in.size(); i++) {
              DecoderArchitecturesTest.close(lb[i], la[i], type + " " + dtype + " step " + s
                  + " input " + i);
            }
          }
        }
      }
    }
  }

  @Test
  void aClosedCacheIsRefusedNotRead() {
    Path dir = packedLlama("llama");
    try (CausalLm m = Architectures.loadCausalLm(dir, TWO_THREADS)) {
      assertTrue(((DecoderModel) m).runsNativeStack());
      KvCache cache = m.allocateCache(1, 8);
      m.step(cache, List.of(new StepInput(0, 0, new int[] {1, 2})));
      cache.close();
      EngineException e = assertThrows(EngineException.class,
          () -> m.step(cache, List.of(new StepInput(0, 2, new int[] {3}))));
      assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }
  }

  /**
   * A cache whose layers one Java buffer cannot span (over 2 GiB; here the limit is lowered) is
   * read through libtorch's ops, layer by layer, not handed to the fused kernels: the same logits.
   */
  @Test
  void aCacheTooLargeForOneBufferFallsBackToLibtorchOps() {
    Path dir = packedLlama("llama-big-cache");
    try (CausalLm m = Architectures.loadCausalLm(dir, TWO_THREADS)) {
      long limit = SlotKvCache.bufferLimit;
      KvCache big;
      SlotKvCache.bufferLimit = 1024;
      try {
        big = m.allocateCache(2, 16);
      } finally {
        SlotKvCache.bufferLimit = limit;
      }
      try (KvCache small = m.allocateCache(2, 16); KvCache b = big) {
        assertTrue(((SlotKvCache) small).nativeReadable());
        assertTrue(!((SlotKvCache) b).nativeReadable());
        int[] pos = new int[2];
        int[] pos2 = new int[2];
        for (int s = 0; s < 4; s++) {
          List<StepInput> in = List.of(input(0, pos, s == 0 ? 5 : 1, 90 + s),
              input(1, pos, s == 0 ? 3 : 1, 95 + s));
          List<StepInput> same = List.of(input(0, pos2, s == 0 ? 5 : 1, 90 + s),
              input(1, pos2, s == 0 ? 3 : 1, 95 + s));
          long before = CpuKernels.Stack.steps();
          float[][] fused = m.step(small, in);
          assertEquals(before + 1, CpuKernels.Stack.steps(), "the small cache's step is stacked");
          float[][] ops = m.step(b, same);
          assertEquals(before + 1, CpuKernels.Stack.steps(), "the big cache's step is not");
          for (int i = 0; i < 2; i++) {
            DecoderArchitecturesTest.close(fused[i], ops[i], "step " + s + " input " + i);
          }
        }
      }
    }
  }

  /** A tiny FP32 Llama whose projections all pack (hidden 256), written under tmp as {@code name}. */
  private Path packedLlama(String name) {
    return tinyModel(name, "llama", 256, DType.F32);
  }

  /**
   * A tiny model of {@code type} and {@code hidden} stored as {@code dtype}, written under tmp as
   * {@code name}; the test is skipped where the stack cannot run (no AVX-512 GEMM).
   */
  private Path tinyModel(String name, String type, int hidden, DType dtype) {
    assumeTrue(PackedGemm.gathersRows(), "the stack needs the engine's AVX-512 GEMM");
    var config = TinyDecoders.config(type, TinyDecoders.VOCAB, hidden);
    if (type.startsWith("gemma") && hidden >= 256) {
      // the tiny Gemmas' head_dim of 16 would leave q|k|v and o under the size that packs on its
      // own, on libtorch's linear layer by layer: at 64, every projection packs on both paths
      config.put("head_dim", hidden / 4);
    }
    return TinyDecoders.write(tmp.resolve(name), config, 8, dtype);
  }

  /** A step input of {@code n} tokens for {@code slot} at its next position (advanced). */
  private static StepInput input(int slot, int[] pos, int n, long seed) {
    StepInput in = new StepInput(slot, pos[slot], DecoderArchitecturesTest.tokens(seed, n));
    pos[slot] += n;
    return in;
  }

  private static CausalLm loadWithoutStack(Path dir) {
    System.setProperty("llmbatch.nativeStack", "false");
    try {
      return Architectures.loadCausalLm(dir, TWO_THREADS);
    } finally {
      System.clearProperty("llmbatch.nativeStack");
    }
  }
}
