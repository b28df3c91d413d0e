/**
 * The narrow boundary to DJL's PyTorch engine: engine start-up (offline), devices, compute dtypes,
 * weight loading, and the native calls DJL lacks (packed GEMM, {@link
 * dev.llmbatch.engine.runtime.PackedGemm}; fused CPU kernels, {@link
 * dev.llmbatch.engine.runtime.CpuKernels}). Nothing outside {@code runtime} and {@code model}
 * touches DJL's NDArray API.
 */
package dev.llmbatch.engine.runtime;
