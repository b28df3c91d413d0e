/**
 * Text to token ids and back: Hugging Face fast tokenizers (through DJL) from a folder's
 * {@code tokenizer.json}, UTF-8-safe incremental detokenization, and stop-string matching.
 */
package dev.llmbatch.engine.tokenizer;
