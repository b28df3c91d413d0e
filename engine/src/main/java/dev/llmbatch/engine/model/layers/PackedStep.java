package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.runtime.CpuKernels;
import java.util.ArrayList;
import java.util.List;

/**
 * One forward step over a ragged batch with no padding: the N new tokens of all inputs packed into
 * one (1, N) sequence, so every projection, norm and MLP runs once over exactly N tokens — one pass
 * over the weights per step however prefill chunks and decode rows mix. Only the attention core
 * needs rows; it runs per group:
 * <ul>
 *   <li>every input with one new token (decode rows, 1-token chunks), ordered and gap-filled by
 *       {@link StepPlan} so that they read the KV cache as a view;
 *   <li>each input with several new tokens (a prefill chunk) alone, as one row.
 * </ul>
 * Packed order: the one-token group first (placeholders included), then the chunks in input order.
 * Placeholders ({@link StepPlan}) are tokens too: they write to the trash row and nobody reads them.
 */
public final class PackedStep {
  public final NDManager manager;
  public final int tokens; // N
  public final List<StepBatch> groups;
  public final long[] offsets; // first packed token of each group
  public final int[] positions; // (N)
  public final NDArray tokenIds; // (N) int64
  private final long[] write; // (N·Hkv) KV-cache rows (placeholders: the trash row)
  private final long[] last; // (inputs) packed index of each input's last new token
  public final NDArray cos; // (1, N, 1, R) or null
  public final NDArray sinSigned; // (1, N, 1, R) or null
  private NDArray writeRows; // made on first use (a native layer stack needs neither)
  private NDArray lastRows;
  /** Whether {@link #lastRows()} is 0, 1, … tokens − 1 (a decode step: one new token an input). */
  public final boolean lastRowsAreAll;
  public final boolean fused; // attention runs in CpuKernels: no groups, no placeholders
  public final CpuKernels.Sequences sequences; // fused: one per packed row (input); else null

  /**
   * Plans the step of {@code inputs} (validated: distinct slots, in range). {@code capacity} is the
   * cache's C, {@code trashRow} its last row (S·Hkv·C), {@code windows} the distinct per-layer
   * windows, {@code dtype} the compute type of masks and cos/sin. {@code fused}: attention will run
   * in {@link CpuKernels}, which reads each row's cache in place, so the step needs no attention
   * groups, no slot order and no placeholders: every input is one packed row, in input order.
   */
  public PackedStep(NDManager manager, List<StepInput> inputs, int capacity, int kvHeads,
      long trashRow, RotaryEmbedding rotary, int[] windows, DataType dtype, boolean fused) {
    this.manager = manager;
    this.fused = fused;
    List<Integer> singles = new ArrayList<>();
    List<Integer> chunks = new ArrayList<>();
    for (int i = 0; i < inputs.size(); i++) {
      (inputs.get(i).tokens().length == 1 && !fused ? singles : chunks).add(i);
    }
    groups = fused ? List.of() : new ArrayList<>(1 + chunks.size());
    offsets = new long[fused ? 0 : (singles.isEmpty() ? 0 : 1) + chunks.size()];
    List<StepInput> order = new ArrayList<>(); // one entry per packed row
    List<Boolean> dead = new ArrayList<>();
    last = new long[inputs.size()];
    int n = 0;
    if (!singles.isEmpty()) {
      StepPlan plan = StepPlan.of(singles.stream().map(inputs::get).toList());
      groups.add(StepBatch.group(manager, plan.rows(), windows, dtype));
      for (int r = 0; r < plan.rows().size(); r++) {
        order.add(plan.rows().get(r));
        dead.add(plan.inert() != null && plan.inert()[r]);
      }
      for (int k = 0; k < singles.size(); k++) {
        last[singles.get(k)] = plan.reported()[k];
      }
      n = plan.rows().size();
    }
    for (int i : chunks) { // fused: every input, in input order
      StepInput in = inputs.get(i);
      if (!fused) {
        offsets[groups.size()] = n;
        groups.add(StepBatch.group(manager, List.of(in), windows, dtype));
      }
      order.add(in);
      dead.add(false);
      n += in.tokens().length;
      last[i] = n - 1L;
    }
    this.tokens = n;
    positions = new int[n];
    long[] ids = new long[n];
    write = new long[n * kvHeads];
    int p = 0;
    int maxL = 0;
    for (int r = 0; r < order.size(); r++) {
      StepInput in = order.get(r);
      long slotBase = (long) in.slot() * kvHeads * capacity;
      maxL = Math.max(maxL, in.startPos() + in.tokens().length);
      for (int j = 0; j < in.tokens().length; j++, p++) {
        ids[p] = in.tokens()[j];
        positions[p] = in.startPos() + j;
        for (int h = 0; h < kvHeads; h++) {
          write[p * kvHeads + h] = dead.get(r) ? trashRow
              : slotBase + (long) h * capacity + in.startPos() + j;
        }
      }
    }
    // a fused step has no placeholders: every row is a sequence with new tokens
    sequences = !fused ? null : sequences(order, capacity, kvHeads);
    tokenIds = manager.create(ids);
    boolean all = last.length == n;
    for (int i = 0; all && i < last.length; i++) {
      all = last[i] == i;
    }
    lastRowsAreAll = all;
    if (rotary != null) {
      NDArray[] cs = rotary.cosSin(manager, positions, 1, n, maxL);
      cos = cs[0].getDataType() == dtype ? cs[0] : cs[0].toType(dtype, false);
      sinSigned = cs[1].getDataType() == dtype ? cs[1] : cs[1].toType(dtype, false);
    } else {
      cos = null;
      sinSigned = null;
    }
  }

  /**
   * The sequences of a fused step whose packed rows are {@code rows} in order (each one input, its
   * new tokens after the previous input's): first packed token, new tokens, start position and
   * the KV-cache row of head 0 (slot · Hkv · C).
   */
  public static CpuKernels.Sequences sequences(List<StepInput> rows, int capacity, int kvHeads) {
    int n = rows.size();
    int[] first = new int[n];
    int[] count = new int[n];
    int[] start = new int[n];
    long[] kvRow = new long[n];
    for (int r = 0, p = 0; r < n; r++) {
      StepInput in = rows.get(r);
      first[r] = p;
      count[r] = in.tokens().length;
      start[r] = in.startPos();
      kvRow[r] = (long) in.slot() * kvHeads * capacity;
      p += count[r];
    }
    return new CpuKernels.Sequences(first, count, start, kvRow);
  }

  /** (N·Hkv) int64: the KV-cache row each new token's KV head writes (placeholders: the trash row). */
  public NDArray writeRows() {
    if (writeRows == null) {
      writeRows = manager.create(write);
    }
    return writeRows;
  }

  /** (inputs) int64: the packed index of each input's last new token, in input order. */
  public NDArray lastRows() {
    if (lastRows == null) {
      lastRows = manager.create(last);
    }
    return lastRows;
  }
}
