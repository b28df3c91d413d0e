/** Executor-side lifecycle: the local model file cache, the per-JVM model registry, task devices and in-flight windows. */
package dev.llmbatch.udf.executor;
