/**
 * The embeddings service logic ({@code llm/v1/embeddings}): pooling choice from sentence-transformers
 * files, truncation, token-budget batching with length sorting, {@code dimensions}, exact per-row
 * token counts, per-row errors, and the scheduler thread that batches the inputs of concurrent
 * requests together.
 */
package dev.llmbatch.engine.embed;
