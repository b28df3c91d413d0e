/** The model runtime: architectures over DJL, tokenizers, chat templates, generation, embeddings. */
package dev.llmbatch.engine;
