/** Spark accumulators that count rows, errors by code, tokens and engine time, readable on the driver. */
package dev.llmbatch.udf.metrics;
