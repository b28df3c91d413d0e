/**
 * The narrow boundary to DJL's PyTorch engine: engine start-up (offline), devices, compute dtypes
 * and weight loading. Nothing outside {@code runtime} and {@code model} touches DJL's NDArray API.
 */
package dev.llmbatch.engine.runtime;
