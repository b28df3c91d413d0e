package dev.llmbatch.flavor.lifecycle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.Layout;
import dev.llmbatch.flavor.LoggedModel;
import dev.llmbatch.flavor.MLmodel;
import dev.llmbatch.flavor.MLmodelReader;
import dev.llmbatch.flavor.TransformersFlavor;
import dev.llmbatch.flavor.hf.HfCache;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code persist}: a reference-only model (MLflow 3 MLmodel) over a hub cache built the way
 * huggingface_hub builds it (snapshot symlinks into blobs/).
 */
class ModelPersisterTest {
  @TempDir Path tmp;

  private Path model() {
    return FlavorFixtures.referenceOnlyChatModel(tmp.resolve("artifact"), tmp.resolve("hub"));
  }

  private Path snapshot() {
    return HfCache.at(tmp.resolve("hub")).snapshot(FlavorFixtures.REFERENCE_REPO,
        FlavorFixtures.REVISION);
  }

  private static List<String> listing(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.map(p -> dir.relativize(p).toString()).sorted().toList();
    }
  }

  @Test
  void copiesTheSnapshotRewritesMlmodelAndIsThenANoOp() throws IOException {
    Path root = model();
    MLmodel before = MLmodelReader.read(root.resolve("MLmodel"));
    ModelPersister persister = new ModelPersister(HfCache.at(tmp.resolve("hub")));
    ModelPersister.Result r = persister.persist(new LocalArtifactFiles(root));
    assertFalse(r.alreadyPersisted());
    Path snap = snapshot();
    for (String f : List.of("config.json", "generation_config.json", "model.safetensors")) {
      assertArrayEquals(Files.readAllBytes(snap.resolve(f)),
          Files.readAllBytes(root.resolve("model").resolve(f)), f);
      assertFalse(Files.isSymbolicLink(root.resolve("model").resolve(f)), f);
    }
    for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")) {
      assertArrayEquals(Files.readAllBytes(snap.resolve(f)),
          Files.readAllBytes(root.resolve("components/tokenizer").resolve(f)), f);
      assertFalse(Files.exists(root.resolve("model").resolve(f)), f);
    }
    assertEquals(r.bytes(), Files.size(snap.resolve("model.safetensors"))
        + Files.size(snap.resolve("config.json")) + Files.size(snap.resolve("generation_config.json"))
        + Files.size(snap.resolve("tokenizer.json")) + Files.size(snap.resolve("tokenizer_config.json"))
        + Files.size(snap.resolve("special_tokens_map.json")));
    // MLmodel rewritten as MLflow's persist_pretrained_model does
    MLmodel after = MLmodelReader.read(root.resolve("MLmodel"));
    TransformersFlavor f = after.transformers();
    assertEquals("model", f.modelBinary());
    assertNull(f.sourceModelRevision());
    assertNull(f.component("tokenizer").get().sourceName());
    assertNull(f.component("tokenizer").get().revision());
    assertEquals(before.transformers().component("tokenizer").get().type(),
        f.component("tokenizer").get().type());
    assertEquals(before.transformers().sourceModelName(), f.sourceModelName());
    assertEquals(before.transformers().torchDtype(), f.torchDtype());
    assertEquals(before.modelId(), after.modelId());
    assertEquals(before.modelConfig(), after.modelConfig());
    String yaml = Files.readString(root.resolve("MLmodel"));
    assertFalse(yaml.contains("_revision") || yaml.contains("tokenizer_name"), yaml);
    // it now opens without the cache, and no staging folder is left
    LoggedModel opened = LoggedModel.open(root, HfCache.at(tmp.resolve("empty-cache")));
    assertEquals(Layout.PIPELINE, opened.layout());
    assertEquals(root.resolve("model"), opened.weightsDir());
    assertEquals(List.of("", "MLmodel", "components", "components/tokenizer",
        "components/tokenizer/special_tokens_map.json", "components/tokenizer/tokenizer.json",
        "components/tokenizer/tokenizer_config.json", "model", "model/config.json",
        "model/generation_config.json", "model/model.safetensors"), listing(root));
    // a second persist changes nothing
    byte[] mlmodel = Files.readAllBytes(root.resolve("MLmodel"));
    ModelPersister.Result again = persister.persist(new LocalArtifactFiles(root));
    assertTrue(again.alreadyPersisted());
    assertArrayEquals(mlmodel, Files.readAllBytes(root.resolve("MLmodel")));
  }

  @Test
  void aSnapshotFileThatCannotBeReadLeavesEverythingAsItWas() throws IOException {
    Path root = model();
    byte[] mlmodel = Files.readAllBytes(root.resolve("MLmodel"));
    List<String> before = listing(root);
    // a real failure mid-copy: the tokenizer's blob is gone (an interrupted download), so the
    // weights are already staged when reading tokenizer_config.json fails
    Path link = snapshot().resolve("tokenizer_config.json");
    Files.delete(link.resolveSibling(Files.readSymbolicLink(link)));
    FlavorException e = assertThrows(FlavorException.class,
        () -> new ModelPersister(HfCache.at(tmp.resolve("hub"))).persist(new LocalArtifactFiles(root)));
    assertTrue(e.getMessage().contains("tokenizer_config.json")
        && e.getMessage().contains("nothing was changed"), e.getMessage());
    assertArrayEquals(mlmodel, Files.readAllBytes(root.resolve("MLmodel")));
    assertEquals(before, listing(root));
  }

  @Test
  void aFailureWritingMlmodelTakesTheMovedFoldersBack() throws IOException {
    Path root = model();
    byte[] mlmodel = Files.readAllBytes(root.resolve("MLmodel"));
    List<String> before = listing(root);
    LocalArtifactFiles local = new LocalArtifactFiles(root);
    // the real local files, with the last step (replacing MLmodel) failing as a full disk would
    ArtifactFiles diskFullAtTheEnd = new ArtifactFiles() {
      @Override public String describe() { return local.describe(); }
      @Override public boolean exists(String rel) { return local.exists(rel); }
      @Override public byte[] read(String rel) throws IOException { return local.read(rel); }
      @Override public OutputStream create(String rel) throws IOException { return local.create(rel); }
      @Override public long size(String rel) throws IOException { return local.size(rel); }
      @Override public void rename(String from, String to) throws IOException { local.rename(from, to); }
      @Override public void deleteRecursively(String rel) { local.deleteRecursively(rel); }
      @Override public void writeAtomically(String rel, byte[] data) throws IOException {
        throw new IOException("No space left on device");
      }
    };
    FlavorException e = assertThrows(FlavorException.class,
        () -> new ModelPersister(HfCache.at(tmp.resolve("hub"))).persist(diskFullAtTheEnd));
    assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
    assertArrayEquals(mlmodel, Files.readAllBytes(root.resolve("MLmodel")));
    assertEquals(before, listing(root));
  }

  @Test
  void aMissingSnapshotNamesTheFolderAndTheFix() {
    Path root = model();
    String m = assertThrows(FlavorException.class, () -> new ModelPersister(
        HfCache.at(tmp.resolve("other-hub"))).persist(new LocalArtifactFiles(root))).getMessage();
    assertTrue(m.contains("snapshots/" + FlavorFixtures.REVISION) && m.contains("other-hub"), m);
    Path notReference = FlavorFixtures.pipelineChatModel(tmp.resolve("pipeline"));
    assertTrue(new ModelPersister(HfCache.at(tmp.resolve("hub")))
        .persist(new LocalArtifactFiles(notReference)).alreadyPersisted());
  }
}
