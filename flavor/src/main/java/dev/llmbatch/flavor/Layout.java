package dev.llmbatch.flavor;

/** How a Transformers-flavor model was logged, which decides where its weights and tokenizer are. */
public enum Layout {
  /** {@code save_pretrained=True} from a pipeline: {@code model/} and {@code components/tokenizer/}. */
  PIPELINE,
  /**
   * Logged from a local checkpoint path (weights never loaded while logging): {@code model/} is a
   * copy of the checkpoint folder, tokenizer files included; {@code source_model_name} is the path.
   */
  CHECKPOINT,
  /**
   * {@code save_pretrained=False}: no weights in the artifact; resolved offline from the Hugging
   * Face cache at {@code source_model_revision}.
   */
  REFERENCE_ONLY,
  /** Before MLflow 2.4.1: no {@code model_binary}; the weights are in {@code pipeline/}. */
  LEGACY_PIPELINE
}
