package dev.llmbatch.flavor.safetensors;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor's entry in a safetensors header.
 *
 * @param name tensor name as stored (the checkpoint's key)
 * @param dtype element type
 * @param shape dimensions, outermost first
 * @param begin byte offset of the data, relative to the start of the data section
 * @param end exclusive end offset, relative to the start of the data section
 * @param file the file holding the tensor
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end, Path file) {

  public TensorInfo {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Number of elements (1 for a scalar). */
  public long numel() {
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  /** Length of the data in bytes. */
  public long byteLength() {
    return end - begin;
  }

  @Override
  public String toString() {
    return name + " " + dtype + Arrays.toString(shape);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo t
        && name.equals(t.name)
        && dtype == t.dtype
        && Arrays.equals(shape, t.shape)
        && begin == t.begin
        && end == t.end
        && file.equals(t.file);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Long.hashCode(begin);
  }
}
