/**
 * Bidirectional transformer encoders (BERT, RoBERTa, XLM-RoBERTa, MPNet) over shared post-LN layers,
 * loaded from Hugging Face checkpoints and exposed as {@link dev.llmbatch.engine.model.Encoder}.
 */
package dev.llmbatch.engine.model.encoder;
