package dev.llmbatch.engine.model.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.runtime.TorchRuntime;
import java.util.List;
import org.junit.jupiter.api.Test;

class PackedStepTest {
  @Test
  void tokensArePackedWithoutPaddingOneTokenRowsFirstThenEachChunk() {
    TorchRuntime.engine(1);
    try (NDManager m = NDManager.newBaseManager(TorchRuntime.device("cpu"), "PyTorch")) {
      // a 3-token chunk in slot 5, decode rows in slots 2 and 0 (slot 1 between them is free);
      // 1 KV head, capacity 8, so slot s position p is cache row 8·s + p and the trash row is 64
      List<StepInput> in = List.of(new StepInput(5, 0, new int[] {11, 12, 13}),
          new StepInput(2, 7, new int[] {21}), new StepInput(0, 4, new int[] {31}));
      PackedStep p =
          new PackedStep(m, in, 8, 1, 64, null, new int[] {0}, DataType.FLOAT32, false);
      assertEquals(6, p.tokens, "3 one-token rows (a placeholder for slot 1) + 3 chunk tokens");
      assertEquals(2, p.groups.size());
      assertArrayEquals(new long[] {0, 3}, p.offsets);
      assertArrayEquals(new long[] {31, 0, 21, 11, 12, 13}, p.tokenIds.toLongArray());
      assertArrayEquals(new int[] {4, 0, 7, 0, 1, 2}, p.positions);
      assertArrayEquals(new long[] {4, 64, 23, 40, 41, 42}, p.writeRows().toLongArray(),
          "the placeholder writes to the trash row");
      assertArrayEquals(new long[] {5, 2, 0}, p.lastRows().toLongArray(), "in input order");
      StepBatch decode = p.groups.get(0);
      assertEquals(3, decode.b);
      assertEquals(1, decode.t);
      assertEquals(8, decode.l);
      assertTrue(decode.contiguous, "slots 0..2 are read as one view");
      StepBatch chunk = p.groups.get(1);
      assertEquals(1, chunk.b);
      assertEquals(3, chunk.t);
      assertEquals(3, chunk.l);
    }
  }

  /**
   * For fused attention the same step needs no slot order and no placeholder: every input is one
   * packed row in input order, and its sequence says where its tokens and cache rows are.
   */
  @Test
  void aFusedStepPacksEveryInputInInputOrderWithNoPlaceholder() {
    TorchRuntime.engine(1);
    try (NDManager m = NDManager.newBaseManager(TorchRuntime.device("cpu"), "PyTorch")) {
      List<StepInput> in = List.of(new StepInput(5, 0, new int[] {11, 12, 13}),
          new StepInput(2, 7, new int[] {21}), new StepInput(0, 4, new int[] {31}));
      PackedStep p =
          new PackedStep(m, in, 8, 1, 64, null, new int[] {0}, DataType.FLOAT32, true);
      assertEquals(5, p.tokens, "no placeholder for the free slot 1");
      assertTrue(p.groups.isEmpty(), "no attention groups to build");
      assertArrayEquals(new long[] {11, 12, 13, 21, 31}, p.tokenIds.toLongArray());
      assertArrayEquals(new int[] {0, 1, 2, 7, 4}, p.positions);
      assertArrayEquals(new long[] {40, 41, 42, 23, 4}, p.writeRows().toLongArray());
      assertArrayEquals(new long[] {2, 3, 4}, p.lastRows().toLongArray(), "in input order");
      assertArrayEquals(new int[] {0, 3, 4}, p.sequences.first());
      assertArrayEquals(new int[] {3, 1, 1}, p.sequences.count());
      assertArrayEquals(new int[] {0, 7, 4}, p.sequences.start());
      assertArrayEquals(new long[] {40, 16, 0}, p.sequences.kvRow());
      assertEquals(p.tokens, p.sequences.tokens(), "every packed row belongs to a sequence");
    }
  }
}
