package dev.llmbatch.flavor.uri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.FlavorException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** URI resolution against an MLflow file store (MLflow 2 and 3 layouts). */
class ModelUriResolverTest {
  @TempDir Path tmp;
  private MlrunsFixture store;
  private ModelUriResolver resolver;

  @BeforeEach
  void setUp() throws IOException {
    store = MlrunsFixture.write(tmp.resolve("mlruns"));
    resolver = resolverFor(store.root.toUri().toString());
  }

  private ModelUriResolver resolverFor(String trackingUri) {
    return new ModelUriResolver(MlflowEnvironment.of(
        Map.of(MlflowEnvironment.TRACKING_URI, trackingUri), tmp));
  }

  private Path local(String uri) {
    ResolvedModel r = resolver.resolve(uri);
    assertEquals(ResolvedModel.Kind.LOCAL, r.kind(), r.describe());
    assertEquals(uri, r.uri());
    return r.localPath();
  }

  private static String message(Runnable r) {
    return assertThrows(FlavorException.class, r::run).getMessage();
  }

  @Test
  void localPathsAndFileUris() {
    Path model = store.runModel();
    assertEquals(model, local(model.toString()));
    assertEquals(model, local(model.toUri().toString()));
    assertEquals(model, local("file://" + model));
    String m = message(() -> resolver.resolve(tmp.resolve("nope").toString()));
    assertTrue(m.contains(tmp.resolve("nope").toString()) && m.contains("does not exist"), m);
  }

  @Test
  void runsUriUsesTheRunArtifactRootInMlflow2AndTheLoggedModelInMlflow3() {
    assertEquals(store.runModel(), local("runs:/" + MlrunsFixture.RUN_V2 + "/model"));
    assertEquals(store.runModel().resolve("model"),
        local("runs:/" + MlrunsFixture.RUN_V2 + "/model/model/"));
    // MLflow 3: runs:/<run>/model names the logged model of that run, not the run's artifacts
    ResolvedModel r = resolver.resolve("runs:/" + MlrunsFixture.RUN_V3 + "/model");
    assertEquals(store.loggedModel(), r.localPath());
    assertTrue(r.describe().contains("logged model 'model' of run " + MlrunsFixture.RUN_V3),
        r.describe());
  }

  @Test
  void registryVersionsStagesLatestAliasAndModelId() {
    assertEquals(store.runModel(), local("models:/chat/1"));
    assertEquals(store.loggedModel(), local("models:/chat/2"));
    assertEquals(store.archivedModel(), local("models:/chat/3"));
    // stages are case-insensitive; the highest version in the stage wins
    assertEquals(store.runModel(), local("models:/chat/Production"));
    assertEquals(store.runModel(), local("models:/chat/production"));
    assertEquals(store.loggedModel(), local("models:/chat/STAGING"));
    // latest = max over all stages, and version 5 (Deleted_Internal) is skipped: version 4
    ResolvedModel latest = resolver.resolve("models:/chat/latest");
    assertTrue(latest.describe().contains("chat version 4"), latest.describe());
    assertEquals(store.runModel(), latest.localPath());
    assertEquals(store.loggedModel(), local("models:/chat@champion"));
    assertEquals(store.loggedModel(), local("models:/" + MlrunsFixture.MODEL_ID));
    assertEquals(store.runModel().resolve("components"), local("models:/chat/1/components"));
  }

  @Test
  void recursiveSourcesAreFollowedAndTraced() throws IOException {
    store.writeVersion(6, "None", "models:/chat@champion", null, MlrunsFixture.RUN_V3, null);
    ResolvedModel r = resolver.resolve("models:/chat/6");
    assertEquals(store.loggedModel(), r.localPath());
    assertEquals("models:/chat/6", r.trail().get(0));
    assertTrue(r.trail().contains("models:/chat@champion"), r.describe());
    assertTrue(r.describe().contains("chat version 2"), r.describe());
    // a cycle ends with an error, not a stack overflow
    store.writeVersion(7, "None", "models:/chat/8", null, MlrunsFixture.RUN_V3, null);
    store.writeVersion(8, "None", "models:/chat/7", null, MlrunsFixture.RUN_V3, null);
    String m = message(() -> resolver.resolve("models:/chat/7"));
    assertTrue(m.contains("models:/chat/7") && m.contains("nested"), m);
  }

  @Test
  void deletedAndMissingThingsAreNamedWithWhereTheyWereLookedUp() {
    String deleted = message(() -> resolver.resolve("models:/chat/5"));
    assertTrue(deleted.contains("models:/chat/5") && deleted.contains("Deleted_Internal"), deleted);
    String missing = message(() -> resolver.resolve("models:/chat/9"));
    assertTrue(missing.contains("models:/chat/9") && missing.contains("version 9")
        && missing.contains(store.root.toString()) && missing.contains("[1, 2, 3, 4]"), missing);
    String caseHint = message(() -> resolver.resolve("models:/Chat/1"));
    assertTrue(caseHint.contains("did you mean 'chat'"), caseHint);
    String stage = message(() -> resolver.resolve("models:/chat/Qa"));
    assertTrue(stage.contains("stage Qa") && stage.contains("4=None"), stage);
    String alias = message(() -> resolver.resolve("models:/chat@prod"));
    assertTrue(alias.contains("models:/chat@prod") && alias.contains("[champion]"), alias);
    String run = message(() -> resolver.resolve("runs:/ffff/model"));
    assertTrue(run.contains("runs:/ffff/model") && run.contains("run ffff")
        && run.contains(store.root.toString()), run);
    String noId = message(() -> resolver.resolve("models:/m-ffffffffffffffffffffffffffffffff"));
    assertTrue(noId.contains("m-ffffffffffffffffffffffffffffffff") && noId.contains("MLflow 3"),
        noId);
    String bare = message(() -> resolver.resolve("models:/chat"));
    assertTrue(bare.contains("models:/chat") && bare.contains("@alias"), bare);
    String gone = message(() -> resolver.resolve("runs:/" + MlrunsFixture.RUN_V2 + "/nothing"));
    assertTrue(gone.contains("nothing") && gone.contains("does not exist"), gone);
  }

  @Test
  void aMovedStoreIsReadFromItsNewPlace() throws IOException {
    Path moved = tmp.resolve("elsewhere/mlruns");
    copyTree(store.root, moved);
    deleteTree(store.root);
    ModelUriResolver r = resolverFor(moved.toString());
    Path expected = moved.resolve("0").resolve(MlrunsFixture.RUN_V2).resolve("artifacts/model");
    assertEquals(expected, r.resolve("models:/chat/1").localPath());
    assertEquals(moved.resolve("0/models").resolve(MlrunsFixture.MODEL_ID).resolve("artifacts"),
        r.resolve("models:/" + MlrunsFixture.MODEL_ID).localPath());
  }

  @Test
  void registryUriMayDifferFromTrackingUri() throws IOException {
    Path registry = tmp.resolve("registry");
    MlrunsFixture other = new MlrunsFixture(registry);
    other.writeVersion(1, "Production", store.archivedModel().toString(), null, "x", null);
    ModelUriResolver r = new ModelUriResolver(MlflowEnvironment.of(Map.of(
        MlflowEnvironment.TRACKING_URI, store.root.toString(),
        MlflowEnvironment.REGISTRY_URI, registry.toUri().toString()), tmp));
    assertEquals(store.archivedModel(), r.resolve("models:/chat/production").localPath());
    assertEquals(store.runModel(), r.resolve("runs:/" + MlrunsFixture.RUN_V2 + "/model")
        .localPath());
  }

  @Test
  void defaultTrackingUriIsMlrunsInTheWorkingDirectory() {
    ModelUriResolver r = new ModelUriResolver(MlflowEnvironment.of(Map.of(), tmp));
    assertEquals(store.runModel(), r.resolve("models:/chat/1").localPath());
  }

  @Test
  void hadoopDbfsAndUnsupportedSchemes() {
    for (String u : new String[] {"s3a://bucket/models/chat", "hdfs://nn:8020/m",
        "abfss://c@acct.dfs.core.windows.net/m", "gs://bucket/m"}) {
      ResolvedModel r = resolver.resolve(u);
      assertEquals(ResolvedModel.Kind.HADOOP, r.kind());
      assertEquals(u, r.location());
    }
    assertEquals("s3a://bucket/m", resolver.resolve("s3://bucket/m").location());
    String dbfs = message(() -> resolver.resolve("dbfs:/models/chat"));
    assertTrue(dbfs.contains("/dbfs/models/chat") && dbfs.contains("Databricks"), dbfs);
    String http = message(() -> resolver.resolve("https://example.com/m"));
    assertTrue(http.contains("MLFLOW_TRACKING_URI"), http);
    String unknown = message(() -> resolver.resolve("foo:bar"));
    assertTrue(unknown.contains("unknown scheme 'foo'"), unknown);
    String art = message(() -> resolver.resolve("mlflow-artifacts:/0/x/artifacts"));
    assertTrue(art.contains("tracking server"), art);
    String db = message(() -> new ModelUriResolver(MlflowEnvironment.of(
        Map.of(MlflowEnvironment.TRACKING_URI, "sqlite:///mlflow.db"), tmp))
        .resolve("models:/chat/1"));
    assertTrue(db.contains("mlflow server --backend-store-uri sqlite:///mlflow.db"), db);
  }

  static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }

  static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
