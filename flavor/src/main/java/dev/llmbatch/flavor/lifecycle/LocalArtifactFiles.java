package dev.llmbatch.flavor.lifecycle;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** {@link ArtifactFiles} over a local (or mounted, e.g. {@code /dbfs}) folder. */
public final class LocalArtifactFiles implements ArtifactFiles {
  private final Path root;

  /** Files under {@code root}. */
  public LocalArtifactFiles(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  private Path path(String rel) {
    Path p = root.resolve(rel).normalize();
    if (!p.startsWith(root)) {
      throw new IllegalArgumentException(rel + " is outside " + root);
    }
    return p;
  }

  @Override
  public String describe() {
    return root.toString();
  }

  @Override
  public boolean exists(String rel) {
    return Files.exists(path(rel));
  }

  @Override
  public byte[] read(String rel) throws IOException {
    return Files.readAllBytes(path(rel));
  }

  @Override
  public OutputStream create(String rel) throws IOException {
    Path p = path(rel);
    Files.createDirectories(p.getParent());
    return Files.newOutputStream(p);
  }

  @Override
  public long size(String rel) throws IOException {
    return Files.size(path(rel));
  }

  @Override
  public void rename(String from, String to) throws IOException {
    Path target = path(to);
    Files.createDirectories(target.getParent());
    Files.move(path(from), target, StandardCopyOption.ATOMIC_MOVE);
  }

  @Override
  public void writeAtomically(String rel, byte[] data) throws IOException {
    Path file = path(rel);
    Files.createDirectories(file.getParent());
    Path tmp = Files.createTempFile(file.getParent(), "." + file.getFileName() + "-", ".tmp");
    try {
      Files.write(tmp, data);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  @Override
  public void deleteRecursively(String rel) {
    CheckpointFiles.deleteTree(path(rel));
  }
}
