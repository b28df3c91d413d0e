/**
 * Decoder-only architectures: each a thin mapping of its config.json and checkpoint names onto the
 * shared layers, all running through one {@link dev.llmbatch.engine.model.decoder.DecoderModel}
 * (and, for decoder-based embedding models, its stack without the LM head through {@link
 * dev.llmbatch.engine.model.decoder.DecoderEmbedder}).
 */
package dev.llmbatch.engine.model.decoder;
