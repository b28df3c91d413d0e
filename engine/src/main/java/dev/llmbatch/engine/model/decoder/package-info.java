/**
 * Decoder-only architectures: each a thin mapping of its config.json and checkpoint names onto the
 * shared layers, all running through one {@link dev.llmbatch.engine.model.decoder.DecoderModel}.
 */
package dev.llmbatch.engine.model.decoder;
