package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.llmbatch.engine.model.StepInput;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What every layer of one ragged step shares, computed once in Java: new tokens padded to (B, T)
 * with per-row positions, the KV-cache rows each new token writes, how each row's cached prefix is
 * read, additive causal (+ sliding-window) masks, and the rotary cos/sin. All arrays belong to the
 * step's manager.
 *
 * <p>KV-cache layout per layer: rows of head_dim floats, row {@code ((slot·Hkv + h)·C + pos)}, plus
 * one trash row at the end that padding tokens write to. Its first S·Hkv·C rows are therefore a
 * (S, Hkv, C, D) tensor: when the step's rows hold consecutive slots in order, every layer reads
 * its keys and values as a <em>view</em> {@code [s0:s0+B, :, :L]} of it, with no copy; otherwise
 * it gathers the B slots (one index on the slot axis). {@link StepPlan} orders rows by slot
 * and fills small slot gaps with inert rows so that decode steps take the view.
 *
 * <p>An inert row ({@code inert[i]}) is a placeholder for a slot that does not step: it writes
 * to the trash row, attends to key 0 only and its output is ignored, so it never changes the
 * slot's cache.
 */
public final class StepBatch {
  public final NDManager manager;
  public final int b; // rows
  public final int t; // padded new tokens per row
  public final int l; // keys read per row: max(startPos + len)
  public final int capacity; // C, tokens per slot in the KV cache
  public final int[] lengths; // new tokens per row
  public final int[] positions; // (B·T) position of each (padded) new token
  public final NDArray tokenIds; // (B·T) int64, padding = the row's last token
  public final NDArray writeRows; // (B·T·Hkv) int64 cache rows
  public final NDIndex kvRead; // on (S, Hkv, C, D): slice [s0:s0+B, :, :L] or gather [slots, :, :L]
  public final boolean contiguous; // kvRead is a view
  public final NDArray lastRows; // (R) index in B·T of each reported row's last new token
  public final NDArray cos; // (B, T, 1, R) or null
  public final NDArray sinSigned; // (B, T, 1, R) or null
  private final DataType dtype;
  private final Map<Integer, NDArray> masks = new HashMap<>(); // window → (B, 1, 1, T, L)

  /** A step whose rows are {@code inputs} as given, every one reported in that order. */
  public StepBatch(NDManager manager, List<StepInput> inputs, int capacity, int kvHeads,
      long trashRow, RotaryEmbedding rotary, int[] windows, DataType dtype) {
    this(manager, inputs, null, null, capacity, kvHeads, trashRow, rotary, windows, dtype);
  }

  /**
   * Plans a step. {@code inert} marks placeholder rows (null: none); {@code reported} lists the
   * rows whose last-token output {@link #lastRows} selects, in the caller's order (null: all rows
   * in order). {@code capacity} is C, {@code kvHeads} Hkv, {@code trashRow} the cache's last row
   * (= S·Hkv·C), {@code windows} the distinct per-layer windows (0 = full), {@code dtype} the
   * compute type of masks and cos/sin.
   */
  public StepBatch(NDManager manager, List<StepInput> inputs, boolean[] inert, int[] reported,
      int capacity, int kvHeads, long trashRow, RotaryEmbedding rotary, int[] windows,
      DataType dtype) {
    this(manager, inputs, inert, reported, capacity, kvHeads, trashRow, rotary, windows, dtype,
        false);
  }

  /**
   * One attention group of a {@link PackedStep}: only what the attention core reads (L, the K/V
   * read, masks); token ids, writes, rotary and {@link #lastRows} are the packed step's and stay
   * null here.
   */
  static StepBatch group(NDManager manager, List<StepInput> rows, boolean[] inert, int capacity,
      int kvHeads, long trashRow, int[] windows, DataType dtype) {
    return new StepBatch(manager, rows, inert, null, capacity, kvHeads, trashRow, null, windows,
        dtype, true);
  }

  private StepBatch(NDManager manager, List<StepInput> inputs, boolean[] inert, int[] reported,
      int capacity, int kvHeads, long trashRow, RotaryEmbedding rotary, int[] windows,
      DataType dtype, boolean coreOnly) {
    this.manager = manager;
    this.dtype = dtype;
    this.b = inputs.size();
    this.capacity = capacity;
    int maxT = 0;
    int maxL = 0;
    lengths = new int[b];
    boolean consecutive = true;
    for (int i = 0; i < b; i++) {
      StepInput in = inputs.get(i);
      lengths[i] = in.tokens().length;
      maxT = Math.max(maxT, lengths[i]);
      maxL = Math.max(maxL, in.startPos() + lengths[i]);
      consecutive &= i == 0 || in.slot() == inputs.get(i - 1).slot() + 1;
    }
    this.t = maxT;
    this.l = maxL;
    positions = new int[b * t];
    long[] ids = new long[b * t];
    long[] write = new long[b * t * kvHeads];
    for (int i = 0; i < b; i++) {
      StepInput in = inputs.get(i);
      int[] tok = in.tokens();
      boolean dead = inert != null && inert[i];
      long slotBase = (long) in.slot() * kvHeads * capacity;
      for (int j = 0; j < t; j++) {
        boolean real = j < tok.length && !dead;
        // padding repeats the row's last token at its position: its mask row is never empty
        int k = j < tok.length ? j : tok.length - 1;
        ids[i * t + j] = tok[k];
        positions[i * t + j] = in.startPos() + k;
        for (int h = 0; h < kvHeads; h++) {
          write[(i * t + j) * kvHeads + h] = real
              ? slotBase + (long) h * capacity + in.startPos() + j : trashRow;
        }
      }
    }
    int[] rows = reported != null ? reported : java.util.stream.IntStream.range(0, b).toArray();
    long[] last = new long[rows.length];
    for (int r = 0; r < rows.length; r++) {
      int i = rows[r];
      last[r] = (long) i * t + lengths[i] - 1;
    }
    tokenIds = coreOnly ? null : manager.create(ids);
    writeRows = coreOnly ? null : manager.create(write);
    lastRows = coreOnly ? null : manager.create(last);
    contiguous = consecutive;
    if (consecutive) {
      long s0 = inputs.get(0).slot();
      kvRead = new NDIndex("{}:{}, :, :{}", s0, s0 + b, l);
    } else {
      long[] slots = inputs.stream().mapToLong(StepInput::slot).toArray();
      kvRead = new NDIndex("{}, :, :{}", manager.create(slots), l);
    }
    for (int w : windows) {
      masks.computeIfAbsent(w, this::buildMask);
    }
    if (rotary != null) {
      NDArray[] cs = rotary.cosSin(manager, positions, b, t, l);
      cos = cast(cs[0]);
      sinSigned = cast(cs[1]);
    } else {
      cos = null;
      sinSigned = null;
    }
  }

  /** Additive mask (B, 1, 1, T, L): key j is visible to a token at p iff j ≤ p and p − j < w. */
  private NDArray buildMask(int window) {
    float[] m = new float[b * t * l];
    boolean hides = false;
    for (int i = 0; i < b * t; i++) {
      int p = positions[i];
      int lo = window > 0 ? Math.max(0, p - window + 1) : 0;
      int o = i * l;
      for (int j = 0; j < l; j++) {
        boolean visible = j >= lo && j <= p;
        m[o + j] = visible ? 0f : Float.NEGATIVE_INFINITY;
        hides |= !visible;
      }
    }
    // a decode step whose rows all see all L keys (batch 1, or rows of one length) needs no add
    return hides ? cast(manager.create(m, new Shape(b, 1, 1, t, l))) : null;
  }

  private NDArray cast(NDArray a) {
    return a.getDataType() == dtype ? a : a.toType(dtype, false);
  }

  /** The mask for layers with sliding window {@code window} (0 = full causal); null if it hides nothing. */
  public NDArray mask(Integer window) {
    return masks.get(window);
  }
}
