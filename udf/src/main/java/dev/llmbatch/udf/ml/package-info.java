/** spark.ml {@code Transformer}s with typed Params for chat, completions and embeddings. */
package dev.llmbatch.udf.ml;
