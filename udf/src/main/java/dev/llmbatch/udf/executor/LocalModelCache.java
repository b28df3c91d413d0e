package dev.llmbatch.udf.executor;

import dev.llmbatch.udf.UdfException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings a model folder from any Hadoop filesystem ({@code s3a}, {@code hdfs}, {@code abfss}, ...)
 * onto local disk once per host, so the engine can memory-map it. Local paths are used in place.
 *
 * <p>Safe against concurrent executors on one host: an exclusive file lock per model, a download
 * into a temporary folder, each file's size checked against the remote listing, a manifest, then
 * an atomic rename. A folder without a matching manifest (a crash mid-copy, a changed remote
 * model) is never used.
 */
public final class LocalModelCache {
  private static final Logger LOG = LoggerFactory.getLogger(LocalModelCache.class);
  /** Written last into a complete copy: one {@code <size>\t<relative path>} line per file. */
  static final String MANIFEST = ".llm-batch-manifest";
  private static final ConcurrentHashMap<Path, Object> JVM_LOCKS = new ConcurrentHashMap<>();

  private final Path root;
  private final Configuration hadoopConf;

  /**
   * @param root the executor-local cache folder (created when missing)
   * @param hadoopConf filesystem settings ({@code fs.s3a.*} credentials, endpoints)
   */
  public LocalModelCache(Path root, Configuration hadoopConf) {
    this.root = root.toAbsolutePath();
    this.hadoopConf = hadoopConf;
  }

  /** The cache folder. */
  public Path root() {
    return root;
  }

  /** True for locations that are already on local disk ({@code file:} or a plain path). */
  public static boolean isLocal(String location) {
    if (location.startsWith("file:")) {
      return true;
    }
    int colon = location.indexOf("://");
    // No scheme, or a Windows drive letter: a local path.
    return colon < 0 || colon == 1;
  }

  /**
   * A local folder holding the model at {@code location}.
   *
   * @param copyLocal copy {@code file:} locations too (for slow network mounts)
   */
  public Path materialize(String location, boolean copyLocal) {
    if (isLocal(location) && !copyLocal) {
      Path p = location.startsWith("file:") ? Paths.get(URI.create(location)) : Paths.get(location);
      if (!Files.isDirectory(p)) {
        throw new UdfException("Cannot open model " + location + ": no such local folder on host "
            + hostName() + "; use a shared filesystem URI (s3a://, hdfs://) or copy it to every host");
      }
      return p;
    }
    return copy(location);
  }

  private Path copy(String location) {
    org.apache.hadoop.fs.Path remote = new org.apache.hadoop.fs.Path(location);
    String name = sanitize(remote.getName());
    Path dest = root.resolve(hash(location) + "-" + name);
    try {
      Files.createDirectories(root);
      List<Entry> listing = list(remote);
      Object jvmLock = JVM_LOCKS.computeIfAbsent(dest, k -> new Object());
      synchronized (jvmLock) {
        try (FileChannel ch = FileChannel.open(root.resolve(dest.getFileName() + ".lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock ignored = ch.lock()) {
          if (matches(dest, listing)) {
            LOG.info("Model {} already cached at {}", location, dest);
            return dest;
          }
          Path tmp = root.resolve(dest.getFileName() + ".tmp-" + UUID.randomUUID());
          long bytes = download(remote, listing, tmp);
          writeManifest(tmp, listing);
          if (Files.exists(dest)) {
            deleteTree(dest);
          }
          move(tmp, dest);
          LOG.info("Copied model {} ({} files, {} bytes) to {}", location, listing.size(), bytes, dest);
          return dest;
        }
      }
    } catch (IOException e) {
      throw new UdfException("Cannot copy model " + location + " to the executor cache " + root
          + ": " + e + "; check the filesystem credentials (spark.hadoop.fs.*) and local disk space",
          e);
    }
  }

  private record Entry(String relative, long size) {}

  private List<Entry> list(org.apache.hadoop.fs.Path remote) throws IOException {
    FileSystem fs = remote.getFileSystem(hadoopConf);
    org.apache.hadoop.fs.Path base = fs.makeQualified(remote);
    if (!fs.getFileStatus(base).isDirectory()) {
      throw new UdfException("Cannot copy model " + remote + ": it is not a folder; pass the logged"
          + " model folder that holds MLmodel");
    }
    String prefix = base.toUri().getPath();
    prefix = prefix.endsWith("/") ? prefix : prefix + "/";
    TreeMap<String, Entry> out = new TreeMap<>();
    RemoteIterator<LocatedFileStatus> it = fs.listFiles(base, true);
    while (it.hasNext()) {
      LocatedFileStatus st = it.next();
      String path = st.getPath().toUri().getPath();
      if (!path.startsWith(prefix)) {
        throw new IOException("listing returned " + path + " outside " + prefix);
      }
      String rel = path.substring(prefix.length());
      if (rel.isEmpty() || rel.contains("..") || rel.startsWith("/")) {
        throw new IOException("unsafe file name in the model folder: " + rel);
      }
      out.put(rel, new Entry(rel, st.getLen()));
    }
    if (out.isEmpty()) {
      throw new UdfException("Cannot copy model " + remote + ": the folder is empty");
    }
    return new ArrayList<>(out.values());
  }

  private long download(org.apache.hadoop.fs.Path remote, List<Entry> listing, Path tmp)
      throws IOException {
    FileSystem fs = remote.getFileSystem(hadoopConf);
    long total = 0;
    for (Entry e : listing) {
      Path target = tmp.resolve(e.relative()).normalize();
      if (!target.startsWith(tmp)) {
        throw new IOException("unsafe file name in the model folder: " + e.relative());
      }
      Files.createDirectories(target.getParent());
      try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(remote, e.relative()));
          OutputStream out = Files.newOutputStream(target)) {
        in.transferTo(out);
      }
      long got = Files.size(target);
      if (got != e.size()) {
        throw new IOException(e.relative() + " is " + got + " bytes after download, the listing says "
            + e.size() + " (was it modified during the copy?)");
      }
      total += got;
    }
    return total;
  }

  private static void writeManifest(Path dir, List<Entry> listing) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (Entry e : listing) {
      sb.append(e.size()).append('\t').append(e.relative()).append('\n');
    }
    Files.writeString(dir.resolve(MANIFEST), sb.toString(), StandardCharsets.UTF_8);
  }

  /** A complete copy whose manifest lists exactly the remote files and sizes. */
  private static boolean matches(Path dest, List<Entry> listing) throws IOException {
    Path manifest = dest.resolve(MANIFEST);
    if (!Files.isRegularFile(manifest)) {
      return false;
    }
    List<String> lines = Files.readAllLines(manifest, StandardCharsets.UTF_8);
    if (lines.size() != listing.size()) {
      return false;
    }
    for (int i = 0; i < lines.size(); i++) {
      Entry e = listing.get(i);
      Path local = dest.resolve(e.relative());
      if (!lines.get(i).equals(e.size() + "\t" + e.relative())
          || !Files.isRegularFile(local) || Files.size(local) != e.size()) {
        return false;
      }
    }
    return true;
  }

  private static void move(Path tmp, Path dest) throws IOException {
    try {
      Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, dest);
    }
  }

  static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static String hash(String location) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(location.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String sanitize(String name) {
    String s = name.replaceAll("[^A-Za-z0-9._-]", "_");
    return s.isEmpty() ? "model" : s.toLowerCase(Locale.ROOT).length() > 60 ? s.substring(0, 60) : s;
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "this host";
    }
  }
}
