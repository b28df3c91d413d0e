package dev.llmbatch.jobs.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.jobs.JobException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JobConfTest {
  private static Map<String, Object> base() {
    Map<String, Object> m = new HashMap<>();
    m.put("model", "/models/m");
    m.put("input", "in.parquet");
    m.put("output", "out");
    return m;
  }

  @Test
  void commandLineOverridesFileOverridesDefaults() {
    Map<String, Object> file = ConfFile.parse(String.join("\n",
        "model: /models/from-file",
        "input: data.csv",
        "output: out",
        "temperature: 0.2",
        "max_tokens: 64",
        "top-p: 0.9",
        "stop: ['###', \"\\n\\n\"]",
        "spark:",
        "  spark.sql.shuffle.partitions: 8"), "test.yaml");
    Map<String, Object> cli = new HashMap<>();
    cli.put("temperature", 0.7);
    cli.put("model", "/models/from-cli");
    cli.put("spark-conf", List.of("spark.sql.shuffle.partitions=4", "spark.a=b"));
    JobConf c = JobConf.resolve(JobKind.CHAT, cli, file);

    assertEquals("/models/from-cli", c.model());
    assertEquals(0.7, c.params().temperature()); // cli
    assertEquals(64, c.params().maxTokens()); // file, snake_case spelling
    assertEquals(0.9, c.params().topP());
    assertEquals(List.of("###", "\n\n"), c.params().stop());
    assertNull(c.params().n()); // nobody set it: the model's defaults decide
    assertEquals("errorifexists", c.output().mode()); // default
    assertEquals("parquet", c.output().format());
    assertEquals("messages", c.columns().messages());
    assertEquals(Map.of("spark.sql.shuffle.partitions", "4", "spark.a", "b"), c.sparkConf());
    assertEquals("cli", c.origins().get("temperature"));
    assertEquals("conf-file", c.origins().get("max-tokens"));
  }

  @Test
  void dtypeDefaultsToAutoReadsTheFileAndIsValidated() {
    assertEquals("auto", JobConf.resolve(JobKind.CHAT, base(), Map.of()).dtype());
    Map<String, Object> file = ConfFile.parse("dtype: FP16\n", "test.yaml");
    assertEquals("fp16", JobConf.resolve(JobKind.CHAT, base(), file).dtype());
    Map<String, Object> cli = base();
    cli.put("dtype", "bf16");
    JobException e = assertThrows(JobException.class,
        () -> JobConf.resolve(JobKind.CHAT, cli, Map.of()));
    assertTrue(e.getMessage().contains("Invalid --dtype: bf16"), e.getMessage());
  }

  @Test
  void resumeNeedsAKeyAndAppends() {
    Map<String, Object> cli = base();
    cli.put("resume", true);
    JobException e = assertThrows(JobException.class,
        () -> JobConf.resolve(JobKind.EMBEDDINGS, cli, Map.of()));
    assertTrue(e.getMessage().contains("--id-col"), e.getMessage());
    cli.put("id-col", "id");
    JobConf c = JobConf.resolve(JobKind.EMBEDDINGS, cli, Map.of());
    assertTrue(c.output().resume());
    assertEquals("append", c.output().mode());
    cli.put("mode", "overwrite");
    assertThrows(JobException.class, () -> JobConf.resolve(JobKind.EMBEDDINGS, cli, Map.of()));
  }

  @Test
  void batchWritesJsonLinesKeyedByCustomId() {
    Map<String, Object> cli = base();
    cli.put("input", "requests.jsonl");
    cli.put("resume", "true");
    JobConf c = JobConf.resolve(JobKind.BATCH, cli, Map.of());
    assertEquals("custom_id", c.columns().id());
    assertEquals("json", c.output().format());
    assertEquals("text", c.input().format());
    cli.put("output-format", "parquet");
    assertThrows(JobException.class, () -> JobConf.resolve(JobKind.BATCH, cli, Map.of()));
  }

  @Test
  void badValuesNameTheOption() {
    Map<String, Object> cli = base();
    cli.put("temperature", 3.0);
    JobException e = assertThrows(JobException.class,
        () -> JobConf.resolve(JobKind.CHAT, cli, Map.of()));
    assertEquals("Invalid --temperature: 3.0 (must be between 0 and 2)", e.getMessage());

    Map<String, Object> cli2 = base();
    cli2.put("max-tokens", "lots");
    e = assertThrows(JobException.class, () -> JobConf.resolve(JobKind.COMPLETIONS, cli2, Map.of()));
    assertTrue(e.getMessage().startsWith("Invalid --max-tokens: lots"), e.getMessage());

    Map<String, Object> cli3 = base();
    cli3.put("temperature", 0.5);
    e = assertThrows(JobException.class, () -> JobConf.resolve(JobKind.EMBEDDINGS, cli3, Map.of()));
    assertTrue(e.getMessage().contains("embeddings"), e.getMessage());

    Map<String, Object> cli4 = base();
    cli4.put("input-table", "db.t");
    e = assertThrows(JobException.class, () -> JobConf.resolve(JobKind.CHAT, cli4, Map.of()));
    assertTrue(e.getMessage().contains("exactly one of --input"), e.getMessage());

    Map<String, Object> cli5 = base();
    cli5.remove("model");
    e = assertThrows(JobException.class, () -> JobConf.resolve(JobKind.CHAT, cli5, Map.of()));
    assertTrue(e.getMessage().contains("--model"), e.getMessage());
  }

  @Test
  void partitionByAcceptsListsAndCommaText() {
    Map<String, Object> file = ConfFile.parse("partition-by: day, lang\n", "t.yaml");
    Map<String, Object> cli = base();
    JobConf c = JobConf.resolve(JobKind.COMPLETIONS, cli, file);
    assertEquals(List.of("day", "lang"), c.output().partitionBy());
    cli.put("partition-by", List.of("x"));
    assertEquals(List.of("x"), JobConf.resolve(JobKind.COMPLETIONS, cli, file).output()
        .partitionBy());
    assertFalse(c.output().resume());
  }

  @Test
  void ignoreEosAndSeedAreTyped() {
    Map<String, Object> file = ConfFile.parse("ignore_eos: true\nseed: 42\nn: 2\n", "t.yaml");
    JobConf c = JobConf.resolve(JobKind.CHAT, base(), file);
    assertEquals(Boolean.TRUE, c.params().ignoreEos());
    assertEquals(42L, c.params().seed());
    assertEquals(2, c.params().n());
    // The job seed is not a per-row default: rows derive their own seeds from it and their key.
    assertEquals(Map.of("n", 2, "ignore_eos", true), c.params().asOpenAi());
  }
}
