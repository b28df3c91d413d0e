package dev.llmbatch.udf.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.udf.UdfException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalModelCacheTest {
  @TempDir Path tmp;

  private Path remoteModel() throws Exception {
    Path m = tmp.resolve("remote/my-model");
    Files.createDirectories(m.resolve("model"));
    Files.writeString(m.resolve("MLmodel"), "flavors: {}\n");
    Files.write(m.resolve("model/model.safetensors"), new byte[100_000]);
    Files.writeString(m.resolve("model/config.json"), "{}");
    return m;
  }

  @Test
  void copiesOnceVerifiesAndReuses() throws Exception {
    Path remote = remoteModel();
    LocalModelCache cache = new LocalModelCache(tmp.resolve("cache"), new Configuration());
    Path local = cache.materialize(remote.toUri().toString(), true);
    assertTrue(local.startsWith(tmp.resolve("cache")));
    assertEquals(100_000, Files.size(local.resolve("model/model.safetensors")));
    assertEquals("{}", Files.readString(local.resolve("model/config.json")));
    assertTrue(Files.isRegularFile(local.resolve(LocalModelCache.MANIFEST)));

    Files.writeString(local.resolve("touched"), "x");
    assertEquals(local, cache.materialize(remote.toUri().toString(), true));
    assertTrue(Files.exists(local.resolve("touched")), "a matching copy is reused, not copied again");

    Files.write(remote.resolve("model/model.safetensors"), new byte[100_001]);
    cache.materialize(remote.toUri().toString(), true);
    assertFalse(Files.exists(local.resolve("touched")), "a changed remote model is copied again");
    assertEquals(100_001, Files.size(local.resolve("model/model.safetensors")));
    try (Stream<Path> s = Files.list(tmp.resolve("cache"))) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temp folders left");
    }
  }

  @Test
  void aCopyWithoutManifestIsNeverUsed() throws Exception {
    Path remote = remoteModel();
    LocalModelCache cache = new LocalModelCache(tmp.resolve("cache"), new Configuration());
    Path local = cache.materialize(remote.toUri().toString(), true);
    // A crash mid-copy leaves a folder whose manifest is missing or whose files are short.
    Files.delete(local.resolve(LocalModelCache.MANIFEST));
    Files.write(local.resolve("model/model.safetensors"), new byte[10]);
    Path again = cache.materialize(remote.toUri().toString(), true);
    assertEquals(100_000, Files.size(again.resolve("model/model.safetensors")));
  }

  @Test
  void concurrentExecutorsCopyOnce() throws Exception {
    Path remote = remoteModel();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    List<Future<Path>> fs = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      // Separate cache objects over one folder, as separate executors on one host.
      LocalModelCache c = new LocalModelCache(tmp.resolve("cache"), new Configuration());
      fs.add(pool.submit(() -> c.materialize(remote.toUri().toString(), true)));
    }
    HashSet<Path> paths = new HashSet<>();
    for (Future<Path> f : fs) {
      paths.add(f.get());
    }
    pool.shutdown();
    assertEquals(1, paths.size());
    Path local = paths.iterator().next();
    assertEquals(100_000, Files.size(local.resolve("model/model.safetensors")));
  }

  @Test
  void localFoldersAreUsedInPlace() throws Exception {
    Path remote = remoteModel();
    LocalModelCache cache = new LocalModelCache(tmp.resolve("cache"), new Configuration());
    assertEquals(remote, cache.materialize(remote.toString(), false));
    assertEquals(remote, cache.materialize(remote.toUri().toString(), false));
    assertTrue(LocalModelCache.isLocal("/a/b"));
    assertTrue(LocalModelCache.isLocal("file:/a/b"));
    assertFalse(LocalModelCache.isLocal("s3a://bucket/model"));
    UdfException e = assertThrows(UdfException.class,
        () -> cache.materialize(tmp.resolve("nope").toString(), false));
    assertTrue(e.getMessage().contains("nope"), e.getMessage());
    UdfException notDir = assertThrows(UdfException.class,
        () -> cache.materialize(remote.resolve("MLmodel").toUri().toString(), true));
    assertTrue(notDir.getMessage().contains("not a folder"), notDir.getMessage());
  }
}
