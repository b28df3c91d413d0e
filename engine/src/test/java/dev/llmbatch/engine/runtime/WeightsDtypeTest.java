package dev.llmbatch.engine.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.llmbatch.engine.testing.TinyDecoders;
import dev.llmbatch.flavor.safetensors.DType;
import dev.llmbatch.flavor.safetensors.SafetensorsWriter;
import dev.llmbatch.flavor.safetensors.SafetensorsWriter.Tensor;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BF16, FP16 and FP32 checkpoints of the same random weights all load, in FP32, to exactly the
 * values of their stored numbers (the conversions are exact: both half formats widen losslessly).
 * The expected values are decoded here, bit by bit, independently of the loader.
 */
class WeightsDtypeTest {
  @TempDir Path tmp;

  private static float[] values(int n) {
    Random r = new Random(11);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      // a wide range, with subnormal-in-fp16 and large magnitudes, and exact zero and negatives
      v[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(7) - 4));
    }
    v[0] = 0f;
    v[1] = -0f;
    v[2] = 65504f; // fp16 max
    v[3] = 3e-6f; // fp16 subnormal
    return v;
  }

  /** The exact float value of binary16 bits. */
  static float fromHalf(short h) {
    int sign = (h & 0x8000) != 0 ? -1 : 1;
    int exp = (h >>> 10) & 0x1F;
    int mant = h & 0x3FF;
    if (exp == 0) {
      return sign * mant * (float) Math.pow(2, -24);
    }
    return sign * (1 + mant / 1024f) * (float) Math.pow(2, exp - 15);
  }

  private static Tensor f16(long[] shape, float[] v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) {
      b.putShort(TinyDecoders.f16Bits(f));
    }
    return new Tensor(DType.F16, shape, b.array());
  }

  private static float[] decode(Tensor t) {
    ByteBuffer b = ByteBuffer.wrap(t.data()).order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[t.data().length / 2];
    for (int i = 0; i < out.length; i++) {
      short s = b.getShort(2 * i);
      out[i] = t.dtype() == DType.BF16 ? Float.intBitsToFloat((s & 0xFFFF) << 16) : fromHalf(s);
    }
    return out;
  }

  private float[] load(String name, Tensor t) {
    Path dir = tmp.resolve(name);
    SafetensorsWriter.write(dir.resolve("model.safetensors"), Map.of("w", t), Map.of());
    TorchRuntime.engine(1);
    try (WeightFiles files = WeightFiles.open(dir); NDManager m = NDManager.newBaseManager()) {
      assertEquals(t.dtype(), files.storedDtype());
      NDArray a = new Weights(files, m, ComputeDtype.FP32).get("w", 8, 16);
      assertEquals(DataType.FLOAT32, a.getDataType());
      return a.toFloatArray();
    }
  }

  @Test
  void bf16Fp16AndFp32CheckpointsLoadToTheirExactFp32Values() {
    float[] v = values(8 * 16);
    long[] shape = {8, 16};
    assertArrayEquals(v, load("fp32", Tensor.f32(shape, v)), 0f);
    Tensor bf16 = Tensor.bf16(shape, v);
    assertArrayEquals(decode(bf16), load("bf16", bf16), 0f);
    Tensor fp16 = f16(shape, v);
    float[] fp16Values = decode(fp16);
    assertArrayEquals(fp16Values, load("fp16", fp16), 0f);
    // the checkpoints hold the same model: each is within its format's rounding of the FP32 one
    float[] bfLoaded = load("bf16b", bf16);
    for (int i = 0; i < v.length; i++) {
      assertEquals(v[i], bfLoaded[i], Math.abs(v[i]) / 256 + 1e-30f, "bf16 element " + i);
      if (Math.abs(v[i]) > 1e-4f && Math.abs(v[i]) < 60000f) {
        assertEquals(v[i], fp16Values[i], Math.abs(v[i]) / 2048, "fp16 element " + i);
      }
    }
    assertEquals(65504f, fp16Values[2]);
    assertEquals(3e-6f, fp16Values[3], 6e-8f);
  }

  /**
   * A BF16 tensor too big for one Java buffer view (a 7B model's FP32 embedding table is over 2
   * GiB) is widened through views of whole rows: here with views of 3 rows (chunk 200 bytes, rows
   * of 16 floats), so 8 rows take 3 views, the last one short, and each lands where it belongs.
   */
  @Test
  void aBf16TensorIsWidenedInRowChunksWhereOneViewCannotHoldIt() {
    float[] v = values(8 * 16);
    Tensor bf16 = Tensor.bf16(new long[] {8, 16}, v);
    TorchRuntime.engine(1);
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray out = m.create(new ai.djl.ndarray.types.Shape(8, 16), DataType.FLOAT32);
      Weights.widenBf16(ByteBuffer.wrap(bf16.data()), out, 200);
      assertArrayEquals(decode(bf16), out.toFloatArray(), 0f);
    }
  }
}
