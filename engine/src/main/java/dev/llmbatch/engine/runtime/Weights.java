package dev.llmbatch.engine.runtime;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.runtime.lora.LoraAdapter;
import dev.llmbatch.flavor.safetensors.DType;
import dev.llmbatch.flavor.safetensors.TensorInfo;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Loads checkpoint tensors into NDArrays on a device, in the compute dtype. Float tensors stored in
 * the compute dtype are wrapped zero-copy over the memory-mapped file on CPU; BF16 is widened in
 * Java (DJL's JNI aborts the JVM on BF16), so at most one host copy is ever made.
 */
public final class Weights {
  private final WeightFiles files;
  private final NDManager manager;
  private final ComputeDtype dtype;
  /** Merged into the weights it targets as they load; null for none. */
  private final LoraAdapter lora;
  /** Mapped buffers backing zero-copy arrays: kept reachable while the arrays live. */
  private final List<ByteBuffer> pinned = new ArrayList<>();
  /** The arrays that are such views. */
  private final Set<NDArray> mapped = Collections.newSetFromMap(new IdentityHashMap<>());

  /** Loads from {@code files} into arrays owned by {@code manager} (whose device is the target). */
  public Weights(WeightFiles files, NDManager manager, ComputeDtype dtype) {
    this(files, manager, dtype, null);
  }

  /**
   * As above, merging the PEFT LoRA {@code adapter} (may be null) into each weight it targets on
   * the host, in FP32, before the compute-dtype conversion and the device copy.
   */
  public Weights(WeightFiles files, NDManager manager, ComputeDtype dtype, LoraAdapter adapter) {
    this.files = files;
    this.manager = manager;
    this.dtype = dtype;
    this.lora = adapter;
  }

  /** The checkpoint. */
  public WeightFiles files() {
    return files;
  }

  /**
   * Whether {@code a}, loaded here, is a zero-copy view of the memory-mapped checkpoint file (a
   * tensor stored in the compute dtype, on the CPU); false for one this loader widened, converted
   * or merged into memory of its own.
   */
  public boolean mapsFile(NDArray a) {
    return mapped.contains(a);
  }

  /** Whether the checkpoint has {@code name}. */
  public boolean has(String name) {
    return files.has(name);
  }

  /** Loads {@code name}, asserting its shape; {@code -1} in {@code expected} matches any size. */
  public NDArray get(String name, long... expected) {
    TensorInfo t = files.info(name);
    long[] shape = t.shape();
    if (expected.length > 0 && !matches(shape, expected)) {
      throw new EngineException("Cannot load weight '" + name + "' from " + files.dir()
          + ": shape " + Arrays.toString(shape) + ", but config.json implies "
          + Arrays.toString(expected));
    }
    return load(t, dtype.djl());
  }

  /** Loads {@code name} as a tensor of its stored integer type, or the compute dtype for floats. */
  public NDArray getRaw(String name) {
    TensorInfo t = files.info(name);
    return load(t, t.dtype().isFloating() ? dtype.djl() : djlType(t));
  }

  private static boolean matches(long[] shape, long[] expected) {
    if (shape.length != expected.length) {
      return false;
    }
    for (int i = 0; i < shape.length; i++) {
      if (expected[i] >= 0 && expected[i] != shape[i]) {
        return false;
      }
    }
    return true;
  }

  private NDArray load(TensorInfo t, DataType target) {
    Shape shape = new Shape(t.shape());
    ByteBuffer data = files.data(t.name());
    Device device = manager.getDevice();
    try (NDManager tmp = manager.newSubManager(Device.cpu())) {
      NDArray host;
      boolean zeroCopy = false;
      switch (t.dtype()) {
        case BF16 -> {
          // widened straight into libtorch's memory: no second host copy waiting for the GC
          host = tmp.create(shape, DataType.FLOAT32);
          widenBf16(data, host, WIDEN_CHUNK_BYTES);
        }
        case F32, F16, F64, I64, I32, I8, U8, BOOL -> {
          host = tmp.create(data, shape, djlType(t));
          zeroCopy = true;
        }
        case I16 -> throw new EngineException("Cannot load weight '" + t.name() + "': dtype I16"
            + " is not supported by DJL's PyTorch engine");
        default -> throw new EngineException("Cannot load weight '" + t.name()
            + "': unsupported dtype " + t.dtype());
      }
      if (lora != null && lora.touches(t.name())) {
        NDArray fp32 = host.getDataType() == DataType.FLOAT32 ? host
            : host.toType(DataType.FLOAT32, false);
        host = lora.apply(t.name(), fp32, tmp);
        zeroCopy = false;
      }
      NDArray out = host;
      if (host.getDataType() != target) {
        out = host.toType(target, false);
      }
      if (!device.equals(Device.cpu())) {
        out = out.toDevice(device, false);
      }
      if (out == host && zeroCopy) {
        pinned.add(data);
        mapped.add(out);
      }
      out.attach(manager);
      return out;
    } catch (EngineException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new EngineException("Cannot load weight '" + t.name() + "' from " + t.file() + ": "
          + e, e);
    }
  }

  private static DataType djlType(TensorInfo t) {
    return switch (t.dtype()) {
      case F64 -> DataType.FLOAT64;
      case F32 -> DataType.FLOAT32;
      case F16 -> DataType.FLOAT16;
      case I64 -> DataType.INT64;
      case I32 -> DataType.INT32;
      case I8 -> DataType.INT8;
      case U8 -> DataType.UINT8;
      case BOOL -> DataType.BOOLEAN;
      default -> throw new EngineException("Cannot load weight '" + t.name() + "': dtype "
          + t.dtype() + " must be converted in Java before it reaches DJL");
    };
  }

  /**
   * BF16 to FP32 (the high 16 bits of an IEEE float): {@code bf16} (little-endian) into {@code
   * out}, a float32 CPU array of as many values, through views of its memory of at most {@code
   * chunkBytes} whole rows each (a Java buffer cannot span 2 GiB, which a 7B model's FP32
   * embedding table does).
   */
  static void widenBf16(ByteBuffer bf16, NDArray out, long chunkBytes) {
    Shape shape = out.getShape();
    long numel = shape.size();
    if (numel * 4 <= chunkBytes || shape.dimension() < 2) {
      widenBf16(bf16, 0, numel, NativeLibraries.buffer(out));
      return;
    }
    long rows = shape.get(0);
    long row = numel / rows;
    long per = Math.max(1, chunkBytes / (row * 4));
    for (long r = 0; r < rows; r += per) {
      long end = Math.min(rows, r + per);
      try (NDArray part = out.get(new NDIndex("{}:{}", r, end))) { // contiguous: a view
        widenBf16(bf16, r * row, (end - r) * row, NativeLibraries.buffer(part));
      }
    }
  }

  /** Views of a float32 array's memory stay under this many bytes ({@link #widenBf16}). */
  static final long WIDEN_CHUNK_BYTES = 1L << 30;

  /** {@code count} BF16 values from index {@code first} of {@code bf16} into {@code out}. */
  private static void widenBf16(ByteBuffer bf16, long first, long count, ByteBuffer out) {
    ShortBuffer in = bf16.duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
    in.position(Math.toIntExact(first));
    IntBuffer to = out.duplicate().order(ByteOrder.nativeOrder()).asIntBuffer();
    short[] a = new short[(int) Math.min(count, 1 << 16)];
    int[] b = new int[a.length];
    for (long done = 0; done < count; ) {
      int n = (int) Math.min(a.length, count - done);
      in.get(a, 0, n);
      for (int i = 0; i < n; i++) {
        b[i] = (a[i] & 0xFFFF) << 16;
      }
      to.put(b, 0, n);
      done += n;
    }
  }

  /** Whether a stored dtype is one this loader handles. */
  public static boolean supported(DType d) {
    return d != DType.I16;
  }
}
