/**
 * OpenAI-shaped request and response records (chat, completions, embeddings, the Batch API file
 * lines), serialised with Jackson field for field as ../shared/spec/openai-shapes.md shows, and the
 * deterministic ids and seeds derived from a row key.
 */
package dev.llmbatch.engine.api;
