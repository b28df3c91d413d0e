/** The jobs users run: the {@code llm-batch} command line, its job configs, I/O, resume and run summaries. */
package dev.llmbatch.jobs;
