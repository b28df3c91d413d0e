package dev.llmbatch.engine.api;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The key of one request (a Batch API {@code custom_id} or a chosen id column) from which its
 * response ids and its default sampling seed derive, so that a rerun or a retried Spark task writes
 * the same bytes.
 *
 * <p>Seed rule: a request's own {@code seed} is used as given (OpenAI's meaning: same seed and
 * request, same output). Otherwise the seed is a hash of the job seed and the key, so rows differ
 * from each other but each row is reproducible.
 *
 * @param key the row key, non-empty
 * @param jobSeed the job-level seed (0 when the job sets none)
 */
public record RequestKey(String key, long jobSeed) {
  public RequestKey {
    Objects.requireNonNull(key, "key");
    if (key.isEmpty()) {
      throw new IllegalArgumentException("Invalid request key: empty");
    }
  }

  /** A key under job seed 0. */
  public static RequestKey of(String key) {
    return new RequestKey(key, 0L);
  }

  /** {@code prefix} + 24 hex digits of a SHA-256 of the key, e.g. {@code chatcmpl-3f2a...}. */
  public String id(String prefix) {
    byte[] h = sha256("llm-batch/id\u0000" + key);
    return prefix + HexFormat.of().formatHex(h, 0, 12);
  }

  /** The sampling seed: {@code requestSeed} when given, else derived from the job seed and key. */
  public long seed(Long requestSeed) {
    if (requestSeed != null) {
      return requestSeed;
    }
    byte[] h = sha256("llm-batch/seed\u0000" + jobSeed + "\u0000" + key);
    return ByteBuffer.wrap(h, 0, 8).getLong();
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
