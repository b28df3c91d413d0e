/**
 * The {@code llm-batch} command line (entry point for local runs and spark-submit) and the jobs users
 * run with it: job configs, I/O, resume and run summaries.
 */
package dev.llmbatch.jobs;
