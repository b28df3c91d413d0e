/** Row codecs: Spark rows to OpenAI request bodies (or per-row errors), engine responses to rows, and the output schemas. */
package dev.llmbatch.udf.rows;
