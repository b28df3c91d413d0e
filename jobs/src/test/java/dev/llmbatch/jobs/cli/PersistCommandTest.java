package dev.llmbatch.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.MLmodelReader;
import dev.llmbatch.flavor.hf.HfCache;
import dev.llmbatch.flavor.lifecycle.ModelPersister;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import dev.llmbatch.jobs.LlmBatchCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code llm-batch persist} through the CLI (local and registry URIs) and over Hadoop's FileSystem. */
class PersistCommandTest {
  @TempDir Path tmp;

  record Run(int code, String out, String err) {}

  private Run run(Map<String, String> env, String... args) {
    CommandLine cmd = LlmBatchCli.commandLine();
    cmd.getCommandSpec().removeSubcommand("persist");
    cmd.addSubcommand("persist", new PersistCommand(env));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cmd.setOut(new PrintWriter(out));
    cmd.setErr(new PrintWriter(err));
    return new Run(cmd.execute(args), out.toString(), err.toString());
  }

  private Path snapshot() {
    return HfCache.at(tmp.resolve("hub")).snapshot(FlavorFixtures.REFERENCE_REPO,
        FlavorFixtures.REVISION);
  }

  @Test
  void persistsAModelNamedByARegistryUriThenDoesNothing() throws Exception {
    Path model = FlavorFixtures.referenceOnlyChatModel(tmp.resolve("artifact"), tmp.resolve("hub"));
    Path mlruns = tmp.resolve("mlruns");
    Files.createDirectories(mlruns.resolve("models/chat/version-1"));
    Files.writeString(mlruns.resolve("models/chat/meta.yaml"), "name: chat\n");
    Files.writeString(mlruns.resolve("models/chat/version-1/meta.yaml"), "current_stage: None\n"
        + "name: chat\nsource: " + model.toUri() + "\nversion: 1\n");
    Map<String, String> env = Map.of("MLFLOW_TRACKING_URI", mlruns.toUri().toString(),
        "HF_HUB_CACHE", tmp.resolve("hub").toString());
    Run r = run(env, "persist", "models:/chat/latest");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("Persisted " + FlavorFixtures.REFERENCE_REPO), r.out());
    assertArrayEquals(Files.readAllBytes(snapshot().resolve("model.safetensors")),
        Files.readAllBytes(model.resolve("model/model.safetensors")));
    assertEquals("model", MLmodelReader.read(model.resolve("MLmodel")).transformers().modelBinary());
    Run again = run(env, "persist", model.toString());
    assertEquals(0, again.code(), again.err());
    assertTrue(again.out().startsWith("Already persisted"), again.out());
  }

  @Test
  void unresolvableUrisFailWithOneLine() {
    Run r = run(Map.of("MLFLOW_TRACKING_URI", tmp.resolve("mlruns").toString()), "persist",
        "models:/nothing/1");
    assertEquals(1, r.code());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().contains("models:/nothing/1") && r.err().contains("no registered model"),
        r.err());
  }

  @Test
  void persistsThroughHadoopsFileSystemApi() throws Exception {
    Path model = FlavorFixtures.referenceOnlyChatModel(tmp.resolve("artifact"), tmp.resolve("hub"));
    HadoopArtifactFiles files = HadoopArtifactFiles.of(model.toUri().toString(), Map.of());
    ModelPersister.Result r = new ModelPersister(HfCache.at(tmp.resolve("hub"))).persist(files);
    assertFalse(r.alreadyPersisted());
    for (String f : new String[] {"model/model.safetensors", "model/config.json",
        "components/tokenizer/tokenizer.json"}) {
      String snapName = f.substring(f.lastIndexOf('/') + 1);
      assertArrayEquals(Files.readAllBytes(snapshot().resolve(snapName)),
          Files.readAllBytes(model.resolve(f)), f);
    }
    var flavor = MLmodelReader.read(model.resolve("MLmodel")).transformers();
    assertEquals("model", flavor.modelBinary());
    assertNull(flavor.sourceModelRevision());
    assertTrue(new ModelPersister(HfCache.at(tmp.resolve("hub"))).persist(files).alreadyPersisted());
    try (var s = Files.list(model)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".llmbatch-persist")));
    }
  }
}
