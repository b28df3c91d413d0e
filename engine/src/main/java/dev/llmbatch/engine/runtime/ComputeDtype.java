package dev.llmbatch.engine.runtime;

import ai.djl.ndarray.types.DataType;

/** The floating-point type the model computes in. FP16 is for GPUs only (CPU FP16 matmul is unusably slow). */
public enum ComputeDtype {
  FP32(DataType.FLOAT32),
  FP16(DataType.FLOAT16);

  private final DataType djl;

  ComputeDtype(DataType djl) {
    this.djl = djl;
  }

  /** The DJL data type. */
  public DataType djl() {
    return djl;
  }
}
