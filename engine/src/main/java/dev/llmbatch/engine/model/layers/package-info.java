/**
 * The shared decoder layers over DJL NDArrays (norms, linear, rotary, attention over the slot KV
 * cache, MLPs, the pre-norm block): written once, configured by {@link
 * dev.llmbatch.engine.model.layers.DecoderConfig}.
 */
package dev.llmbatch.engine.model.layers;
