/**
 * Hugging Face files as typed views (config.json, generation_config.json, tokenizer_config.json,
 * special_tokens_map.json, sentence-transformers modules) and the offline hub cache.
 */
package dev.llmbatch.flavor.hf;
