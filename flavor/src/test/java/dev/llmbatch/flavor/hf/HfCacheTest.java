package dev.llmbatch.flavor.hf;

import static dev.llmbatch.flavor.testing.Messages.assertOneLine;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfCacheTest {
  @TempDir Path tmp;

  @Test
  void rootFollowsHuggingfaceHubPrecedence() {
    assertEquals(Path.of("/a"), HfCache.fromEnvironment(Map.of("HF_HUB_CACHE", "/a", "HF_HOME", "/b")).root());
    assertEquals(Path.of("/b/hub"), HfCache.fromEnvironment(Map.of("HF_HOME", "/b", "HOME", "/h")).root());
    assertEquals(Path.of("/h/.cache/huggingface/hub"), HfCache.fromEnvironment(Map.of("HOME", "/h")).root());
  }

  @Test
  void resolvesCommitAndBranchThroughRefs() {
    Path snap = FlavorFixtures.fakeHubCache(tmp, "org/name", FlavorFixtures.REVISION,
        d -> Files.writeString(d.resolve("config.json"), "{\"model_type\": \"llama\"}"));
    HfCache cache = HfCache.at(tmp);
    assertEquals(snap, cache.snapshot("org/name", FlavorFixtures.REVISION));
    assertEquals(snap, cache.snapshot("org/name", "main"));
    assertEquals(snap, cache.snapshot("org/name", null));
    assertEquals("llama", HfConfig.read(snap).modelType());
    Path link = snap.resolve("config.json");
    assertTrue(Files.isSymbolicLink(link));
    Path target = assertDoesNotThrow(() -> Files.readSymbolicLink(link));
    assertFalse(target.isAbsolute(), "huggingface_hub writes relative links: " + target);
    assertTrue(target.toString().startsWith("../../blobs/"), target.toString());
  }

  @Test
  void missingSnapshotNamesFolderOriginAndFix() {
    HfCache cache = HfCache.fromEnvironment(Map.of("HF_HUB_CACHE", tmp.toString()));
    String rev = "ffffffffffffffffffffffffffffffffffffffff";
    FlavorException e = assertThrows(FlavorException.class, () -> cache.snapshot("org/name", rev));
    assertOneLine(e.getMessage(), tmp.resolve("models--org--name/snapshots/" + rev).toString(),
        "HF_HUB_CACHE", "llm-batch persist", "huggingface-cli download org/name --revision " + rev);
  }

  @Test
  void missingBranchRefNamesRefFile() {
    FlavorException e = assertThrows(FlavorException.class,
        () -> HfCache.at(tmp).snapshot("org/name", "dev"));
    assertOneLine(e.getMessage(), tmp.resolve("models--org--name/refs/dev").toString());
  }

  @Test
  void localPathsAndTraversalAreNotRepoIds() {
    HfCache cache = HfCache.at(tmp);
    assertOneLine(assertThrows(FlavorException.class,
        () -> cache.snapshot("/local/checkpoint", FlavorFixtures.REVISION)).getMessage(),
        "'/local/checkpoint'", "not a hub repo id");
    assertOneLine(assertThrows(FlavorException.class,
        () -> cache.snapshot("org/..", FlavorFixtures.REVISION)).getMessage(), "not a hub repo id");
    assertOneLine(assertThrows(FlavorException.class,
        () -> cache.snapshot("org/name", "../../etc")).getMessage(), "revision '../../etc'");
  }
}
