/** Safetensors files, single and sharded: validated headers and memory-mapped tensor data. */
package dev.llmbatch.flavor.safetensors;
