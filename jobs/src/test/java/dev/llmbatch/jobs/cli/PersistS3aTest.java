package dev.llmbatch.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.MLmodelReader;
import dev.llmbatch.flavor.hf.HfCache;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code persist} onto an {@code s3a://} artifact location, through Hadoop's S3A connector, against
 * an S3 server (s3proxy over a local folder) on 127.0.0.1.
 */
class PersistS3aTest {
  private static final String BUCKET = "models";
  @TempDir static Path tmp;
  private static S3Proxy proxy;
  private static BlobStoreContext context;

  @BeforeAll
  static void start() throws Exception {
    Properties p = new Properties();
    p.setProperty("jclouds.filesystem.basedir", Files.createDirectories(tmp.resolve("s3")).toString());
    context = ContextBuilder.newBuilder("filesystem").credentials("identity", "credential")
        .overrides(p).build(BlobStoreContext.class);
    context.getBlobStore().createContainerInLocation(null, BUCKET);
    proxy = S3Proxy.builder().blobStore(context.getBlobStore())
        .endpoint(URI.create("http://127.0.0.1:0")).awsAuthentication(
            org.gaul.s3proxy.AuthenticationType.AWS_V2_OR_V4, "identity", "credential").build();
    proxy.start();
    while (!proxy.getState().equals("STARTED")) {
      Thread.sleep(10);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (proxy != null) {
      proxy.stop();
    }
    if (context != null) {
      context.close();
    }
  }

  private static Map<String, String> s3a() {
    Map<String, String> c = new LinkedHashMap<>();
    c.put("fs.s3a.endpoint", "http://127.0.0.1:" + proxy.getPort());
    c.put("fs.s3a.endpoint.region", "us-east-1");
    c.put("fs.s3a.path.style.access", "true");
    c.put("fs.s3a.connection.ssl.enabled", "false");
    c.put("fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    c.put("fs.s3a.access.key", "identity");
    c.put("fs.s3a.secret.key", "credential");
    c.put("fs.s3a.impl.disable.cache", "true");
    return c;
  }

  private static void upload(BlobStore store, String key, byte[] data) {
    store.putBlob(BUCKET, store.blobBuilder(key).payload(data).contentLength(data.length).build());
  }

  private static byte[] download(BlobStore store, String key) throws Exception {
    try (var in = store.getBlob(BUCKET, key).getPayload().openStream()) {
      return in.readAllBytes();
    }
  }

  @Test
  void persistsAReferenceOnlyModelOntoS3a() throws Exception {
    Path local = FlavorFixtures.referenceOnlyChatModel(tmp.resolve("artifact"), tmp.resolve("hub"));
    BlobStore store = context.getBlobStore();
    upload(store, "chat/MLmodel", Files.readAllBytes(local.resolve("MLmodel")));
    HadoopArtifactFiles files = HadoopArtifactFiles.of("s3a://" + BUCKET + "/chat", s3a());
    var persister = new dev.llmbatch.flavor.lifecycle.ModelPersister(HfCache.at(tmp.resolve("hub")));
    var r = persister.persist(files);
    assertEquals(false, r.alreadyPersisted());
    Path snap = HfCache.at(tmp.resolve("hub")).snapshot(FlavorFixtures.REFERENCE_REPO,
        FlavorFixtures.REVISION);
    assertArrayEquals(Files.readAllBytes(snap.resolve("model.safetensors")),
        download(store, "chat/model/model.safetensors"));
    assertArrayEquals(Files.readAllBytes(snap.resolve("tokenizer.json")),
        download(store, "chat/components/tokenizer/tokenizer.json"));
    var flavor = MLmodelReader.parse(new String(download(store, "chat/MLmodel"),
        StandardCharsets.UTF_8), "s3a MLmodel").transformers();
    assertEquals("model", flavor.modelBinary());
    assertNull(flavor.sourceModelRevision());
    assertTrue(store.list(BUCKET, org.jclouds.blobstore.options.ListContainerOptions.Builder
        .prefix("chat/.llmbatch-persist").recursive()).isEmpty());
    assertTrue(persister.persist(files).alreadyPersisted());
  }

  @Test
  void aFailedPersistOnS3aLeavesNoObjectsBehind() throws Exception {
    Path local = FlavorFixtures.referenceOnlyChatModel(tmp.resolve("artifact2"), tmp.resolve("hub2"));
    Path link = HfCache.at(tmp.resolve("hub2")).snapshot(FlavorFixtures.REFERENCE_REPO,
        FlavorFixtures.REVISION).resolve("tokenizer_config.json");
    Files.delete(link.resolveSibling(Files.readSymbolicLink(link))); // an interrupted download
    BlobStore store = context.getBlobStore();
    byte[] mlmodel = Files.readAllBytes(local.resolve("MLmodel"));
    upload(store, "broken/MLmodel", mlmodel);
    HadoopArtifactFiles files = HadoopArtifactFiles.of("s3a://" + BUCKET + "/broken", s3a());
    var e = org.junit.jupiter.api.Assertions.assertThrows(dev.llmbatch.flavor.FlavorException.class,
        () -> new dev.llmbatch.flavor.lifecycle.ModelPersister(HfCache.at(tmp.resolve("hub2")))
            .persist(files));
    assertTrue(e.getMessage().contains("nothing was changed"), e.getMessage());
    assertArrayEquals(mlmodel, download(store, "broken/MLmodel"));
    assertEquals(java.util.List.of("broken/MLmodel"), store.list(BUCKET,
        org.jclouds.blobstore.options.ListContainerOptions.Builder.prefix("broken/").recursive())
        .stream().map(m -> m.getName()).filter(n -> !n.endsWith("/")).toList());
  }
}
