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
 * Rows of one step and what every layer's attention over them shares, computed once in Java:
 * each row's keys read 0..L−1, additive causal (+ sliding-window) masks, and how the cached
 * keys/values are read. All arrays belong to the step's manager. Two uses:
 * <ul>
 *   <li>a whole padded step (the public constructor; {@code DecoderEmbedder}'s forward): new tokens
 *       padded to (B, T) with per-row positions, the KV-cache rows each token writes, rotary
 *       cos/sin and each row's last token;
 *   <li>one attention group of a {@link PackedStep} ({@link #group}), which owns the tokens,
 *       writes and rotary itself: those fields stay null.
 * </ul>
 *
 * <p>KV-cache layout per layer: rows of head_dim floats, row {@code ((slot·Hkv + h)·C + pos)}, plus
 * one trash row at the end that padding tokens write to. Its first S·Hkv·C rows are therefore a
 * (S, Hkv, C, D) tensor: when the rows hold consecutive slots in order, every layer reads its keys
 * and values as a <em>view</em> {@code [s0:s0+B, :, :L]} of it, with no copy; otherwise it gathers
 * the B slots (one index on the slot axis). {@link StepPlan} orders one-token rows by slot and
 * fills small slot gaps with placeholder rows so that decode steps take the view.
 */
public final class StepBatch {
  public final NDManager manager;
  public final int b; // rows
  public final int t; // padded new tokens per row
  public final int l; // keys read per row: max(startPos + len)
  public final int[] lengths; // new tokens per row
  public final int[] positions; // (B·T) position of each (padded) new token
  public final NDIndex kvRead; // on (S, Hkv, C, D): slice [s0:s0+B, :, :L] or gather [slots, :, :L]
  public final boolean contiguous; // kvRead is a view
  public final NDArray tokenIds; // (B·T) int64, padding = the row's last token; null for a group
  public final NDArray writeRows; // (B·T·Hkv) int64 cache rows; null for a group
  public final NDArray lastRows; // (B) index in B·T of each row's last new token; null for a group
  public final NDArray cos; // (B, T, 1, R); null without rotary or for a group
  public final NDArray sinSigned; // (B, T, 1, R); null without rotary or for a group
  private final DataType dtype;
  private final Map<Integer, NDArray> masks = new HashMap<>(); // window → (B, 1, 1, T, L)

  /**
   * A whole step over {@code inputs}, padded to (B, T). {@code capacity} is C, {@code kvHeads}
   * Hkv, {@code trashRow} the cache's last row (= S·Hkv·C, written by padding), {@code windows} the
   * distinct per-layer windows (0 = full), {@code dtype} the compute type of masks and cos/sin.
   */
  public StepBatch(NDManager manager, List<StepInput> inputs, int capacity, int kvHeads,
      long trashRow, RotaryEmbedding rotary, int[] windows, DataType dtype) {
    this(manager, inputs, windows, dtype, true, capacity, kvHeads, trashRow, rotary);
  }

  /** One attention group of a {@link PackedStep}: L, the K/V read and the masks only. */
  static StepBatch group(NDManager manager, List<StepInput> rows, int[] windows, DataType dtype) {
    return new StepBatch(manager, rows, windows, dtype, false, 0, 0, 0, null);
  }

  private StepBatch(NDManager manager, List<StepInput> inputs, int[] windows, DataType dtype,
      boolean whole, int capacity, int kvHeads, long trashRow, RotaryEmbedding rotary) {
    this.manager = manager;
    this.dtype = dtype;
    this.b = inputs.size();
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
    for (int i = 0; i < b; i++) {
      for (int j = 0; j < t; j++) {
        // padding repeats the row's last token at its position: its mask row is never empty
        positions[i * t + j] = inputs.get(i).startPos() + Math.min(j, lengths[i] - 1);
      }
    }
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
    if (!whole) {
      tokenIds = null;
      writeRows = null;
      lastRows = null;
      cos = null;
      sinSigned = null;
      return;
    }
    long[] ids = new long[b * t];
    long[] write = new long[b * t * kvHeads];
    long[] last = new long[b];
    for (int i = 0; i < b; i++) {
      StepInput in = inputs.get(i);
      int[] tok = in.tokens();
      long slotBase = (long) in.slot() * kvHeads * capacity;
      for (int j = 0; j < t; j++) {
        ids[i * t + j] = tok[Math.min(j, tok.length - 1)];
        for (int h = 0; h < kvHeads; h++) {
          write[(i * t + j) * kvHeads + h] = j < tok.length
              ? slotBase + (long) h * capacity + in.startPos() + j : trashRow;
        }
      }
      last[i] = (long) i * t + tok.length - 1;
    }
    tokenIds = manager.create(ids);
    writeRows = manager.create(write);
    lastRows = manager.create(last);
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
