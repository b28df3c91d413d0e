/**
 * The narrow boundary to DJL's PyTorch engine: engine start-up (offline), devices, compute dtypes,
 * weight loading, and the one native call DJL lacks (oneMKL's packed sgemm, {@link
 * dev.llmbatch.engine.runtime.PackedGemm}). Nothing outside {@code runtime} and {@code model}
 * touches DJL's NDArray API.
 */
package dev.llmbatch.engine.runtime;
