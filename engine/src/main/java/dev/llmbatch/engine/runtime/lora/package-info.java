/**
 * PEFT LoRA adapters merged into the base weights at load ({@code W + B·A·scale}), on the host
 * in FP32, before an architecture sees the weight: serving an adapted model costs nothing extra.
 */
package dev.llmbatch.engine.runtime.lora;
