package dev.llmbatch.flavor.lifecycle;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The file operations {@code persist} needs at an artifact location, relative to its root, so
 * that the flavor module can write to local folders ({@link LocalArtifactFiles}) and to Hadoop
 * filesystems (s3a, hdfs, abfss, gs: an implementation over Hadoop's FileSystem lives where Hadoop
 * is on the classpath) without depending on either. Paths use {@code /}.
 */
public interface ArtifactFiles {

  /** The root, for messages. */
  String describe();

  /** Whether {@code rel} exists (file or folder). */
  boolean exists(String rel) throws IOException;

  /** The bytes of a small file (MLmodel). */
  byte[] read(String rel) throws IOException;

  /** A new file at {@code rel} (parents created; replaced if present), streamed. */
  OutputStream create(String rel) throws IOException;

  /** Size of the file at {@code rel}. */
  long size(String rel) throws IOException;

  /** Renames a file or folder; the target must not exist. */
  void rename(String from, String to) throws IOException;

  /**
   * Replaces the file {@code rel} with {@code data} so that readers see the old bytes or the new
   * ones, never a mix (write a temporary file, then move it over).
   */
  void writeAtomically(String rel, byte[] data) throws IOException;

  /** Deletes {@code rel} and everything under it; nothing when absent. */
  void deleteRecursively(String rel) throws IOException;
}
