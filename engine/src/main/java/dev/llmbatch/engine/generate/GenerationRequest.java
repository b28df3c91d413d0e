package dev.llmbatch.engine.generate;

import java.util.Arrays;

/**
 * One request to generate: the prompt as token ids (exactly as fed to the model), how to sample,
 * and the ids that end a choice. Compared by identity.
 *
 * @param promptTokens at least one token
 * @param params resolved sampling parameters
 * @param eosTokenIds ids that end a choice with {@code stop} unless {@code ignore_eos}; may be empty
 */
public record GenerationRequest(int[] promptTokens, SamplingParams params, int[] eosTokenIds) {
  public GenerationRequest {
    if (promptTokens == null || promptTokens.length == 0) {
      throw new IllegalArgumentException("Invalid generation request: the prompt has no tokens");
    }
    if (params == null) {
      throw new IllegalArgumentException("Invalid generation request: no sampling parameters");
    }
    promptTokens = promptTokens.clone();
    eosTokenIds = eosTokenIds == null ? new int[0] : eosTokenIds.clone();
  }

  /** Whether {@code id} is an end-of-sequence token of this request. */
  public boolean isEos(int id) {
    for (int e : eosTokenIds) {
      if (e == id) {
        return true;
      }
    }
    return false;
  }

  @Override
  public boolean equals(Object o) {
    return this == o;
  }

  @Override
  public int hashCode() {
    return System.identityHashCode(this);
  }

  @Override
  public String toString() {
    return "GenerationRequest[prompt=" + promptTokens.length + " tokens, params=" + params
        + ", eos=" + Arrays.toString(eosTokenIds) + "]";
  }
}
