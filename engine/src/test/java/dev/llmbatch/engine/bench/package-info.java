/** Benchmark programs (not tests): machine limits measured in-run, and the model figures against them. */
package dev.llmbatch.engine.bench;
