package dev.llmbatch.engine.model.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.llmbatch.engine.model.KvCache;
import dev.llmbatch.engine.runtime.CpuKernels;
import java.nio.ByteBuffer;

/**
 * Preallocated keys and values for {@code slots} sequences of up to {@code capacity} tokens: per
 * layer two arrays of rows (S·Hkv·C + 1, D), row {@code (slot·Hkv + h)·C + pos}; the extra last row
 * absorbs the writes of padding tokens. A slot's rows for one KV head are contiguous, so gathering a
 * row's prefix yields (Hkv, L, D) ready for the score matmul.
 */
public final class SlotKvCache implements KvCache {
  /**
   * Bytes one layer's keys (or values) may take for the fused CPU kernels, which read a cache
   * through one Java buffer: at most 2 GiB. Tests lower it to reach the fallback.
   */
  static long bufferLimit = Integer.MAX_VALUE;

  private final DecoderModel owner;
  private final NDManager manager;
  private final int slots;
  private final int capacity;
  private final int kvHeads;
  private final NDArray[] keys; // per layer (S·Hkv·C + 1, D)
  private final NDArray[] values;
  private final NDArray[] keySlots; // per layer, views (S, Hkv, C, D) of keys / values
  private final NDArray[] valueSlots;
  private final long bytes;
  private final boolean nativeReadable; // each layer's array within one Java buffer
  private volatile ByteBuffer[] stackViews; // for CpuKernels.Stack, made on first use

  SlotKvCache(DecoderModel owner, NDManager parent, int layers, int slots, int capacity,
      int kvHeads, int headDim, DataType dtype) {
    this.owner = owner;
    this.manager = parent.newSubManager();
    this.slots = slots;
    this.capacity = capacity;
    this.kvHeads = kvHeads;
    this.keys = new NDArray[layers];
    this.values = new NDArray[layers];
    Shape shape = new Shape((long) slots * kvHeads * capacity + 1, headDim);
    this.keySlots = new NDArray[layers];
    this.valueSlots = new NDArray[layers];
    NDIndex body = new NDIndex(":{}", shape.get(0) - 1);
    for (int i = 0; i < layers; i++) {
      keys[i] = manager.zeros(shape, dtype);
      values[i] = manager.zeros(shape, dtype);
      // views (no copy) over all rows but the trash row: (S, Hkv, C, D)
      keySlots[i] = keys[i].get(body).reshape(slots, kvHeads, capacity, headDim);
      valueSlots[i] = values[i].get(body).reshape(slots, kvHeads, capacity, headDim);
    }
    this.bytes = 2L * layers * shape.size() * dtype.getNumOfBytes();
    this.nativeReadable = shape.size() * dtype.getNumOfBytes() <= bufferLimit;
  }

  DecoderModel owner() {
    return owner;
  }

  NDArray keys(int layer) {
    return keys[layer];
  }

  NDArray values(int layer) {
    return values[layer];
  }

  NDArray keySlots(int layer) {
    return keySlots[layer];
  }

  NDArray valueSlots(int layer) {
    return valueSlots[layer];
  }

  /** Each layer's key then value cache as {@link CpuKernels.Stack#step} takes them. */
  ByteBuffer[] stackViews() {
    ByteBuffer[] v = stackViews;
    if (v == null) {
      v = CpuKernels.Stack.caches(keys, values);
      stackViews = v;
    }
    return v;
  }

  /**
   * Whether the fused CPU kernels can read this cache: each layer's keys (values) fit one Java
   * buffer. A larger cache (e.g. 32 slots of 32K tokens of 8 KV heads of 128) is read through
   * libtorch's ops instead.
   */
  boolean nativeReadable() {
    return nativeReadable;
  }

  /** Whether the cache is still open (its arrays alive). */
  boolean isOpen() {
    return manager.isOpen();
  }

  int kvHeads() {
    return kvHeads;
  }

  /** The row padding tokens write to. */
  long trashRow() {
    return (long) slots * kvHeads * capacity;
  }

  @Override
  public int slots() {
    return slots;
  }

  @Override
  public int capacity() {
    return capacity;
  }

  @Override
  public long bytes() {
    return bytes;
  }

  @Override
  public void close() {
    manager.close();
  }
}
