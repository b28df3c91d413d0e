/** Benchmark programs (mains, not tests): machine limits measured in-run, and model figures against them for docs/benchmarks.md. */
package dev.llmbatch.engine.bench;
