package dev.llmbatch.jobs.cli;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.lifecycle.ArtifactFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;

/**
 * {@link ArtifactFiles} over Hadoop's FileSystem API (s3a, hdfs, abfss, gs, ...), for persisting to
 * remote artifact locations. Replacing MLmodel atomically: object stores (s3a, gs) make an object
 * visible only when its upload completes, so it is written in place; other filesystems write a
 * temporary file and rename it over the target with {@code Options.Rename.OVERWRITE}.
 */
final class HadoopArtifactFiles implements ArtifactFiles {
  private static final Set<String> OBJECT_STORES = Set.of("s3a", "s3", "gs");

  private final String rootUri;
  private final Configuration conf;
  private final FileSystem fs;
  private final Path root;

  private HadoopArtifactFiles(String rootUri, Configuration conf, FileSystem fs) {
    this.rootUri = rootUri;
    this.conf = conf;
    this.fs = fs;
    this.root = new Path(rootUri);
  }

  /** Files under {@code rootUri}, with Hadoop defaults plus {@code settings}. */
  static HadoopArtifactFiles of(String rootUri, Map<String, String> settings) {
    Configuration conf = new Configuration();
    settings.forEach(conf::set);
    try {
      return new HadoopArtifactFiles(rootUri, conf, FileSystem.get(URI.create(rootUri), conf));
    } catch (IOException | RuntimeException e) {
      throw new FlavorException("Cannot open " + rootUri + " through Hadoop: " + e + "; the"
          + " filesystem's connector (e.g. hadoop-aws for s3a) must be on the classpath and"
          + " configured (--hadoop-conf k=v)", e);
    }
  }

  private Path path(String rel) {
    if (rel.isEmpty()) {
      return root;
    }
    for (String part : rel.split("/")) {
      if (part.equals("..")) {
        throw new IllegalArgumentException(rel + " leaves " + rootUri);
      }
    }
    return new Path(root, rel);
  }

  @Override
  public String describe() {
    return rootUri;
  }

  @Override
  public boolean exists(String rel) throws IOException {
    return fs.exists(path(rel));
  }

  @Override
  public byte[] read(String rel) throws IOException {
    try (InputStream in = fs.open(path(rel))) {
      return in.readAllBytes();
    }
  }

  @Override
  public OutputStream create(String rel) throws IOException {
    return fs.create(path(rel), true);
  }

  @Override
  public long size(String rel) throws IOException {
    return fs.getFileStatus(path(rel)).getLen();
  }

  @Override
  public void rename(String from, String to) throws IOException {
    Path target = path(to);
    fs.mkdirs(target.getParent());
    if (fs.exists(target) || !fs.rename(path(from), target)) {
      throw new IOException("cannot rename " + path(from) + " to " + target);
    }
  }

  @Override
  public void writeAtomically(String rel, byte[] data) throws IOException {
    Path target = path(rel);
    String scheme = root.toUri().getScheme() == null ? "" : root.toUri().getScheme()
        .toLowerCase(Locale.ROOT);
    if (OBJECT_STORES.contains(scheme)) {
      try (OutputStream out = fs.create(target, true)) {
        out.write(data); // the object appears whole when the upload completes, or not at all
      }
      return;
    }
    Path tmp = new Path(target.getParent(), "." + target.getName() + "-" + System.nanoTime()
        + ".tmp");
    try (OutputStream out = fs.create(tmp, false)) {
      out.write(data);
    }
    try {
      FileContext.getFileContext(root.toUri(), conf).rename(tmp, target, Options.Rename.OVERWRITE);
    } finally {
      fs.delete(tmp, false);
    }
  }

  @Override
  public void deleteRecursively(String rel) throws IOException {
    fs.delete(path(rel), true);
  }
}
