/** SQL functions {@code llm_chat}, {@code llm_complete} and {@code llm_embed} for {@code spark.sql}. */
package dev.llmbatch.udf.sql;
