package dev.llmbatch.flavor.uri;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.FlavorException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * URI resolution and proxied artifact downloads against a real HTTP server on 127.0.0.1 that
 * answers MLflow's REST calls from a file store fixture.
 */
class RestStoreTest {
  private static final String TOKEN = "tok-7f3a9c-secret";
  @TempDir Path tmp;
  private MlrunsFixture store;
  private FakeMlflowServer server;

  @BeforeEach
  void setUp() throws IOException {
    store = MlrunsFixture.write(tmp.resolve("mlruns"));
    server = new FakeMlflowServer(store.root, "Bearer " + TOKEN);
  }

  @AfterEach
  void tearDown() {
    server.close();
  }

  private ModelUriResolver resolver(Map<String, String> env) {
    return new ModelUriResolver(MlflowEnvironment.of(env, tmp));
  }

  private Map<String, String> env() {
    return Map.of(MlflowEnvironment.TRACKING_URI, server.uri() + "/",
        MlflowEnvironment.TOKEN, TOKEN);
  }

  private String proxied(Path p) {
    return "mlflow-artifacts:/" + store.root.relativize(p).toString();
  }

  @Test
  void everyRegistryFormResolvesToTheProxiedArtifactLocation() {
    ModelUriResolver r = resolver(env());
    String runModel = proxied(store.runModel());
    String logged = proxied(store.loggedModel());
    ResolvedModel v1 = r.resolve("models:/chat/1");
    assertEquals(ResolvedModel.Kind.MLFLOW_ARTIFACTS, v1.kind());
    assertEquals(runModel, v1.location());
    assertEquals(logged, r.resolve("models:/chat/2").location());
    assertEquals(runModel, r.resolve("models:/chat/production").location());
    assertEquals(logged, r.resolve("models:/chat/Staging").location());
    ResolvedModel latest = r.resolve("models:/chat/latest");
    assertTrue(latest.describe().contains("chat version 4"), latest.describe());
    assertEquals(logged, r.resolve("models:/chat@champion").location());
    assertEquals(logged, r.resolve("models:/" + MlrunsFixture.MODEL_ID).location());
    assertEquals(runModel, r.resolve("runs:/" + MlrunsFixture.RUN_V2 + "/model").location());
    // MLflow 3: the run's logged model named "model" wins over the run's artifact folder
    assertEquals(logged, r.resolve("runs:/" + MlrunsFixture.RUN_V3 + "/model").location());
    assertTrue(server.requests.stream().anyMatch(q -> q.startsWith(
        "POST /api/2.0/mlflow/registered-models/get-latest-versions")), server.requests.toString());
  }

  @Test
  void proxiedArtifactsAreListedAndDownloadedByteForByte() throws IOException {
    MlflowEnvironment env = MlflowEnvironment.of(env(), tmp);
    ResolvedModel r = new ModelUriResolver(env).resolve("models:/chat/1");
    MlflowArtifacts artifacts = new MlflowArtifacts(env);
    assertEquals(java.util.List.of(new MlflowArtifacts.Entry("MLmodel", false,
            Files.size(store.runModel().resolve("MLmodel"))),
        new MlflowArtifacts.Entry("components", true, 0),
        new MlflowArtifacts.Entry("model", true, 0)), artifacts.list(r.location()));
    Path target = tmp.resolve("download");
    long bytes = artifacts.download(r.location(), target);
    for (String f : new String[] {"MLmodel", "model/config.json",
        "components/tokenizer/tokenizer_config.json"}) {
      assertArrayEquals(Files.readAllBytes(store.runModel().resolve(f)),
          Files.readAllBytes(target.resolve(f)), f);
    }
    assertTrue(bytes > 0);
    try (var s = Files.walk(target)) {
      assertFalse(s.anyMatch(p -> p.getFileName().toString().endsWith(".part")));
    }
  }

  @Test
  void missingThingsNameTheUriTheLookupAndTheServer() {
    ModelUriResolver r = resolver(env());
    String v9 = assertThrows(FlavorException.class, () -> r.resolve("models:/chat/9")).getMessage();
    assertTrue(v9.contains("models:/chat/9") && v9.contains("version 9")
        && v9.contains(server.uri()) && v9.contains("model-versions/get?name=chat&version=9"), v9);
    String deleted = assertThrows(FlavorException.class, () -> r.resolve("models:/chat/5"))
        .getMessage();
    assertTrue(deleted.contains("models:/chat/5"), deleted);
    String alias = assertThrows(FlavorException.class, () -> r.resolve("models:/chat@nope"))
        .getMessage();
    assertTrue(alias.contains("alias 'nope'") && alias.contains(server.uri()), alias);
    String run = assertThrows(FlavorException.class, () -> r.resolve("runs:/deadbeef/model"))
        .getMessage();
    assertTrue(run.contains("runs:/deadbeef/model") && run.contains("runs/get?run_id=deadbeef"),
        run);
    String stage = assertThrows(FlavorException.class, () -> r.resolve("models:/chat/qa"))
        .getMessage();
    assertTrue(stage.contains("stage qa") || stage.contains("stage Qa"), stage);
  }

  @Test
  void wrongCredentialsAreReportedWithoutLeakingThem() {
    ModelUriResolver r = resolver(Map.of(MlflowEnvironment.TRACKING_URI, server.uri(),
        MlflowEnvironment.TOKEN, "wrong-token-123"));
    FlavorException e = assertThrows(FlavorException.class, () -> r.resolve("models:/chat/1"));
    assertTrue(e.getMessage().contains("401") && e.getMessage().contains("MLFLOW_TRACKING_TOKEN"),
        e.getMessage());
    assertFalse(e.getMessage().contains("wrong-token-123"), e.getMessage());
    MlflowEnvironment env = MlflowEnvironment.of(env(), tmp);
    assertFalse(env.toString().contains(TOKEN), env.toString());
    String none = assertThrows(FlavorException.class, () -> resolver(Map.of(
        MlflowEnvironment.TRACKING_URI, server.uri())).resolve("models:/chat/1")).getMessage();
    assertTrue(none.contains("credentials (none)"), none);
  }

  @Test
  void basicAuthIsSentFromUsernameAndPassword() throws IOException {
    server.close();
    String basic = "Basic " + Base64.getEncoder().encodeToString(
        "alice:pa ss:word".getBytes(StandardCharsets.UTF_8));
    server = new FakeMlflowServer(store.root, basic);
    ModelUriResolver r = resolver(Map.of(MlflowEnvironment.TRACKING_URI, server.uri(),
        MlflowEnvironment.USERNAME, "alice", MlflowEnvironment.PASSWORD, "pa ss:word"));
    assertEquals(proxied(store.runModel()), r.resolve("models:/chat/1").location());
  }

  @Test
  void transientServerErrorsAreRetried() {
    server.failNext.set(2);
    assertEquals(proxied(store.runModel()), resolver(env()).resolve("models:/chat/1").location());
    server.failNext.set(5);
    String m = assertThrows(FlavorException.class, () -> resolver(env()).resolve("models:/chat/1"))
        .getMessage();
    assertTrue(m.contains("503"), m);
  }

  @Test
  void aSeparateFileRegistryCanPointAtRunsOnTheServer() {
    ModelUriResolver r = resolver(Map.of(MlflowEnvironment.TRACKING_URI, server.uri(),
        MlflowEnvironment.TOKEN, TOKEN, MlflowEnvironment.REGISTRY_URI, store.root.toString()));
    // version 1's source is runs:/RUN_V2/model: looked up on the server, not in the file registry
    assertEquals(proxied(store.runModel()), r.resolve("models:/chat/1").location());
  }
}
