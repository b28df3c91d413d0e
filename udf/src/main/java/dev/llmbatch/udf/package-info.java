/**
 * The Spark side of llm-batch: batched chat, completion and embedding transforms and SQL functions
 * over models loaded once per executor JVM. The engine knows nothing of Spark; this module does.
 */
package dev.llmbatch.udf;
