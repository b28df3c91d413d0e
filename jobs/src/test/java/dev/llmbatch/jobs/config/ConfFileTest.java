package dev.llmbatch.jobs.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.jobs.JobException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfFileTest {
  @Test
  void unknownKeysAreErrorsNamingTheFileAndKey() {
    JobException e = assertThrows(JobException.class,
        () -> ConfFile.parse("model: m\ntemprature: 0.3\n", "conf/chat.yaml"));
    assertTrue(e.getMessage().startsWith(
        "Cannot read conf file conf/chat.yaml: unknown key 'temprature'"), e.getMessage());
  }

  @Test
  void readsTypedValuesAndTheSparkMap(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("job.yaml");
    Files.writeString(f, "model: s3a://b/m\nmax_tokens: 32\nresume: true\nstop: [a, b]\n"
        + "spark:\n  spark.executor.memory: 4g\n");
    Map<String, Object> m = ConfFile.read(f);
    assertEquals("s3a://b/m", m.get("model"));
    assertEquals(32, ((Number) m.get("max-tokens")).intValue());
    assertEquals(true, m.get("resume"));
    assertEquals(List.of("a", "b"), m.get("stop"));
    assertEquals(Map.of("spark.executor.memory", "4g"), m.get("spark-conf"));
  }

  @Test
  void missingFileAndBadYamlSayWhat(@TempDir Path dir) throws Exception {
    JobException e = assertThrows(JobException.class, () -> ConfFile.read(dir.resolve("no.yaml")));
    assertTrue(e.getMessage().contains("no such file"), e.getMessage());
    Path f = dir.resolve("bad.yaml");
    Files.writeString(f, "model: [unclosed\n");
    e = assertThrows(JobException.class, () -> ConfFile.read(f));
    assertTrue(e.getMessage().contains("not valid YAML"), e.getMessage());
    Files.writeString(f, "- a\n- b\n");
    e = assertThrows(JobException.class, () -> ConfFile.read(f));
    assertTrue(e.getMessage().contains("top level must be a map"), e.getMessage());
  }
}
