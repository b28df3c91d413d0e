/**
 * Run accounting: counters updated as rows are written, per-partition progress, the console progress
 * bar, and the {@code _llm_batch_summary.json} written beside the output.
 */
package dev.llmbatch.jobs.summary;
