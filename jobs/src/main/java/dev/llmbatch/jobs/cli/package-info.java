/** One class per {@code llm-batch} subcommand, plus what they share (model lookup, output). */
package dev.llmbatch.jobs.cli;
