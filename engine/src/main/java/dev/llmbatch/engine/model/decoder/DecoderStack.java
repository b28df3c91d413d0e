package dev.llmbatch.engine.model.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import dev.llmbatch.engine.model.layers.DecoderLayer;
import dev.llmbatch.engine.model.layers.Norm;
import dev.llmbatch.engine.model.layers.RotaryEmbedding;

/**
 * A {@link DecoderModel}'s stack below the LM head, shared (not copied) with {@link
 * DecoderEmbedder}: the arrays belong to the model's manager.
 *
 * @param config the settled configuration
 * @param manager the model's manager (sub-managers of it hold per-call arrays)
 * @param embedTokens (V, hidden)
 * @param embedPositions (maxPos, hidden) learned positions, or null
 * @param layers the pre-norm blocks
 * @param finalNorm {@code model.norm}
 * @param rotary rotary embedding, or null
 * @param windows the distinct per-layer sliding windows (0 = full)
 * @param dtype the compute dtype
 */
record DecoderStack(DecoderConfig config, NDManager manager, NDArray embedTokens,
    NDArray embedPositions, DecoderLayer[] layers, Norm finalNorm, RotaryEmbedding rotary,
    int[] windows, DataType dtype) {}
