/** Benchmark programs (mains, not tests): they print figures for docs/benchmarks.md. */
package dev.llmbatch.engine.bench;
