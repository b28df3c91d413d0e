package dev.llmbatch.udf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * conf/gpu-discovery.sh prints what Spark's resource parser accepts. This machine has no GPU, so
 * {@code nvidia-smi}'s documented CSV output is written by a script on PATH.
 */
class GpuDiscoveryScriptTest {
  private static final Path SCRIPT = Paths.get("..", "conf", "gpu-discovery.sh").toAbsolutePath();

  @TempDir Path tmp;

  private record Run(int rc, String out, String err) {}

  private Run run(Map<String, String> env) throws Exception {
    assertTrue(Files.isExecutable(SCRIPT), "missing or not executable: " + SCRIPT);
    ProcessBuilder pb = new ProcessBuilder("bash", SCRIPT.toString());
    pb.environment().put("PATH", tmp + ":/usr/bin:/bin");
    pb.environment().remove("CUDA_VISIBLE_DEVICES");
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    return new Run(p.waitFor(), out, err);
  }

  private void nvidiaSmi(String csv) throws Exception {
    Path smi = tmp.resolve("nvidia-smi");
    Files.writeString(smi, "#!/bin/sh\nprintf '" + csv + "'\n");
    assertTrue(smi.toFile().setExecutable(true));
  }

  @Test
  void printsEveryGpuAsSparkResourceJson() throws Exception {
    nvidiaSmi("0\\n1\\n2\\n3\\n");
    Run r = run(Map.of());
    assertEquals(0, r.rc(), r.err());
    ResourceInformation info = ResourceInformation.parseJson(r.out());
    assertEquals("gpu", info.name());
    assertArrayEquals(new String[] {"0", "1", "2", "3"}, info.addresses());
  }

  @Test
  void visibleDevicesAreRenumbered() throws Exception {
    nvidiaSmi("0\\n1\\n2\\n3\\n");
    Run r = run(Map.of("CUDA_VISIBLE_DEVICES", "2,3"));
    assertArrayEquals(new String[] {"0", "1"}, ResourceInformation.parseJson(r.out()).addresses());
  }

  @Test
  void noDriverIsAnErrorNotAnEmptyList() throws Exception {
    Run r = run(Map.of());
    assertNotEquals(0, r.rc());
    assertTrue(r.err().contains("nvidia-smi"), r.err());
  }
}
