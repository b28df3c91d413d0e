package dev.llmbatch.engine.model.layers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.llmbatch.engine.model.StepInput;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What every layer of one ragged step shares, computed once in Java: new tokens padded to (B, T)
 * with per-row positions, the KV-cache rows each new token writes and each row reads, additive
 * causal (+ sliding-window) masks, and the rotary cos/sin. All arrays belong to the step's manager.
 *
 * <p>KV-cache layout per layer: rows of head_dim floats, row {@code ((slot·Hkv + h)·C + pos)}, plus
 * one trash row at the end that padding tokens write to.
 */
public final class StepBatch {
  public final NDManager manager;
  public final int b; // rows
  public final int t; // padded new tokens per row
  public final int l; // keys gathered per row: max(startPos + len)
  public final int[] lengths; // new tokens per row
  public final int[] positions; // (B·T) position of each (padded) new token
  public final NDArray tokenIds; // (B·T) int64, padding = the row's last token
  public final NDArray writeRows; // (B·T·Hkv) int64 cache rows
  public final NDArray readRows; // (B·Hkv·L) int64 cache rows
  public final NDArray lastRows; // (B) int64 index of each row's last new token in B·T
  public final NDArray cos; // (B, T, 1, R) or null
  public final NDArray sinSigned; // (B, T, 1, R) or null
  private final DataType dtype;
  private final Map<Integer, NDArray> masks = new HashMap<>(); // window → (B, 1, 1, T, L)

  /**
   * Plans a step. {@code capacity} is C, {@code kvHeads} Hkv, {@code trashRow} the cache's last
   * row, {@code windows} the distinct per-layer windows (0 = full), {@code dtype} the compute
   * type of masks and cos/sin.
   */
  public StepBatch(NDManager manager, List<StepInput> inputs, int capacity, int kvHeads,
      long trashRow, RotaryEmbedding rotary, int[] windows, DataType dtype) {
    this.manager = manager;
    this.dtype = dtype;
    this.b = inputs.size();
    int maxT = 0;
    int maxL = 0;
    lengths = new int[b];
    for (int i = 0; i < b; i++) {
      StepInput in = inputs.get(i);
      lengths[i] = in.tokens().length;
      maxT = Math.max(maxT, lengths[i]);
      maxL = Math.max(maxL, in.startPos() + lengths[i]);
    }
    this.t = maxT;
    this.l = maxL;
    positions = new int[b * t];
    long[] ids = new long[b * t];
    long[] write = new long[b * t * kvHeads];
    long[] read = new long[b * kvHeads * l];
    long[] last = new long[b];
    for (int i = 0; i < b; i++) {
      StepInput in = inputs.get(i);
      int[] tok = in.tokens();
      long slotBase = (long) in.slot() * kvHeads * capacity;
      for (int j = 0; j < t; j++) {
        boolean real = j < tok.length;
        // padding repeats the row's last token at its position: its mask row is never empty
        int k = real ? j : tok.length - 1;
        ids[i * t + j] = tok[k];
        positions[i * t + j] = in.startPos() + k;
        for (int h = 0; h < kvHeads; h++) {
          write[(i * t + j) * kvHeads + h] = real
              ? slotBase + (long) h * capacity + in.startPos() + j : trashRow;
        }
      }
      for (int h = 0; h < kvHeads; h++) {
        long base = slotBase + (long) h * capacity;
        int o = (i * kvHeads + h) * l;
        for (int j = 0; j < l; j++) {
          read[o + j] = base + j;
        }
      }
      last[i] = (long) i * t + tok.length - 1;
    }
    tokenIds = manager.create(ids);
    writeRows = manager.create(write);
    readRows = manager.create(read);
    lastRows = manager.create(last);
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
    for (int i = 0; i < b * t; i++) {
      int p = positions[i];
      int lo = window > 0 ? Math.max(0, p - window + 1) : 0;
      int o = i * l;
      for (int j = 0; j < l; j++) {
        m[o + j] = j >= lo && j <= p ? 0f : Float.NEGATIVE_INFINITY;
      }
    }
    return cast(manager.create(m, new Shape(b, 1, 1, t, l)));
  }

  private NDArray cast(NDArray a) {
    return a.getDataType() == dtype ? a : a.toType(dtype, false);
  }

  /** The mask for layers with sliding window {@code window} (0 = full causal). */
  public NDArray mask(Integer window) {
    return masks.get(window);
  }
}
