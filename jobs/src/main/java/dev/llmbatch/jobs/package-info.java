/** The {@code llm-batch} command line: entry point for local runs and spark-submit. */
package dev.llmbatch.jobs;
