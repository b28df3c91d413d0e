/**
 * Job I/O on Spark: reading tables in any supported format, writing through Spark's commit protocol,
 * resume (the keys already written), and OpenAI Batch API files.
 */
package dev.llmbatch.jobs.io;
