package dev.llmbatch.flavor.hf;

/** Sentence-transformers pooling modes, named after their {@code pooling_mode_*} keys. */
public enum PoolingMode {
  /** {@code pooling_mode_cls_token}: the first token's hidden state. */
  CLS("pooling_mode_cls_token"),
  /** {@code pooling_mode_mean_tokens}: mean over the attention mask. */
  MEAN("pooling_mode_mean_tokens"),
  /** {@code pooling_mode_max_tokens}: element-wise max over real tokens. */
  MAX("pooling_mode_max_tokens"),
  /** {@code pooling_mode_mean_sqrt_len_tokens}: sum divided by sqrt(length). */
  MEAN_SQRT_LEN("pooling_mode_mean_sqrt_len_tokens"),
  /** {@code pooling_mode_weightedmean_tokens}: position-weighted mean. */
  WEIGHTED_MEAN("pooling_mode_weightedmean_tokens"),
  /** {@code pooling_mode_lasttoken}: the last real token's hidden state. */
  LAST_TOKEN("pooling_mode_lasttoken");

  private final String key;

  PoolingMode(String key) {
    this.key = key;
  }

  /** The key in {@code 1_Pooling/config.json}. */
  public String key() {
    return key;
  }
}
