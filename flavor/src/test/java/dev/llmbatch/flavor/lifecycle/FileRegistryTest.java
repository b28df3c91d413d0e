package dev.llmbatch.flavor.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.uri.FileStore;
import dev.llmbatch.flavor.uri.ModelVersion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Registering into a file-store registry, read back through {@link FileStore}. */
class FileRegistryTest {
  @TempDir Path tmp;

  @Test
  void concurrentRegistrationsGetDistinctVersionsThatTheStoreReads() throws Exception {
    FileRegistry registry = new FileRegistry(tmp.resolve("mlruns"));
    ExecutorService pool = Executors.newFixedThreadPool(4);
    List<Future<Integer>> futures = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      String source = tmp.resolve("m" + i).toUri().toString();
      futures.add(pool.submit(() -> registry.register("it's-a model", source)));
    }
    List<Integer> versions = new ArrayList<>();
    for (Future<Integer> f : futures) {
      versions.add(f.get());
    }
    pool.shutdown();
    assertEquals(IntStream.rangeClosed(1, 8).boxed().toList(), versions.stream().sorted().toList());
    FileStore store = new FileStore(tmp.resolve("mlruns"));
    ModelVersion latest = store.latestVersion("it's-a model", Optional.empty());
    assertEquals("8", latest.version());
    assertEquals("None", latest.currentStage());
    ModelVersion v3 = store.modelVersion("it's-a model", "3");
    assertEquals(v3.source(), v3.storageLocation());
    assertTrue(Files.isRegularFile(tmp.resolve("mlruns/models/it's-a model/meta.yaml")));
    assertThrows(FlavorException.class, () -> registry.register("a/b", "x"));
  }
}
