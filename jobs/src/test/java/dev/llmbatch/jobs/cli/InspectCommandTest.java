package dev.llmbatch.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import dev.llmbatch.jobs.LlmBatchCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class InspectCommandTest {
  @TempDir Path tmp;

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    CommandLine cmd = LlmBatchCli.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cmd.setOut(new PrintWriter(out));
    cmd.setErr(new PrintWriter(err));
    int code = cmd.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  private JsonNode inspectJson(Path model) throws Exception {
    Run r = run("inspect", model.toString(), "--json");
    assertEquals(0, r.code(), r.err());
    assertEquals(1, r.out().strip().lines().count(), "one JSON object on one line");
    JsonNode j = new ObjectMapper().readTree(r.out());
    List<String> keys = new ArrayList<>();
    j.fieldNames().forEachRemaining(keys::add);
    assertEquals(List.of("layout", "task", "inference_task", "architecture", "model_type",
        "parameters", "dtype", "weights_path", "tokenizer", "chat_template", "model_config",
        "prompt_template"), keys);
    return j;
  }

  @Test
  void pipelineChatAsJson() throws Exception {
    Path root = FlavorFixtures.pipelineChatModel(tmp.resolve("chat"));
    JsonNode j = inspectJson(root);
    assertEquals("PIPELINE", j.get("layout").asText());
    assertEquals("text-generation", j.get("task").asText());
    assertEquals("llm/v1/chat", j.get("inference_task").asText());
    assertEquals("LlamaForCausalLM", j.get("architecture").asText());
    assertEquals("llama", j.get("model_type").asText());
    assertTrue(j.get("parameters").asLong() > 1000);
    assertEquals("F32", j.get("dtype").get("stored").asText());
    assertEquals("torch.float32", j.get("dtype").get("torch_dtype").asText());
    assertEquals(root.resolve("model").toAbsolutePath().toString(), j.get("weights_path").asText());
    assertEquals("PreTrainedTokenizerFast", j.get("tokenizer").asText());
    assertTrue(j.get("chat_template").asBoolean());
    assertEquals(64, j.get("model_config").get("max_new_tokens").asInt());
    assertEquals("<sys>Be brief.</sys>\n{prompt}", j.get("prompt_template").asText());
  }

  @Test
  void everyLayoutThroughFileUri() throws Exception {
    Path cache = tmp.resolve("hub");
    Path refRoot = FlavorFixtures.referenceOnlyChatModel(tmp.resolve("ref"), cache);
    // the cache comes from the environment; point HF_HUB_CACHE at it through ModelLocator directly
    var summary = dev.llmbatch.flavor.ModelSummary.of(ModelLocator.open(refRoot.toUri().toString(),
        java.util.Map.of("HF_HUB_CACHE", cache.toString())));
    assertEquals("REFERENCE_ONLY", summary.toJsonMap().get("layout"));
    assertTrue(summary.weightsPath().startsWith(cache.toString()));
    assertEquals("BF16", summary.storedDtype());
    assertEquals("torch.bfloat16", summary.torchDtype());

    JsonNode ckpt = inspectJson(FlavorFixtures.checkpointChatModel(tmp.resolve("ckpt")));
    assertEquals("CHECKPOINT", ckpt.get("layout").asText());
    assertEquals("bfloat16", ckpt.get("dtype").get("torch_dtype").asText());
    JsonNode legacy = inspectJson(FlavorFixtures.legacyPipelineModel(tmp.resolve("legacy")));
    assertEquals("LEGACY_PIPELINE", legacy.get("layout").asText());
    assertFalse(legacy.get("chat_template").asBoolean());
    assertTrue(legacy.get("inference_task").isNull());
    JsonNode emb = inspectJson(FlavorFixtures.pipelineEmbeddingModel(tmp.resolve("emb")));
    assertEquals("llm/v1/embeddings", emb.get("inference_task").asText());
    assertEquals("BertModel", emb.get("architecture").asText());
    assertTrue(emb.get("prompt_template").isNull());
  }

  @Test
  void textOutputAndErrors() {
    Path root = FlavorFixtures.pipelineChatModel(tmp.resolve("chat"));
    Run ok = run("inspect", "file://" + root);
    assertEquals(0, ok.code(), ok.err());
    assertTrue(ok.out().contains("layout:          PIPELINE"), ok.out());
    assertTrue(ok.out().contains("chat template:   yes"), ok.out());

    Run missing = run("inspect", tmp.resolve("nope").toString());
    assertEquals(1, missing.code());
    assertEquals(1, missing.err().strip().lines().count(), missing.err());
    assertTrue(missing.err().startsWith("llm-batch inspect: Cannot open model"), missing.err());

    Run scheme = run("inspect", "runs:/abc/model");
    assertEquals(1, scheme.code());
    // resolved through flavor.uri against ./mlruns, which has no such run: one line naming the URI
    assertEquals(1, scheme.err().strip().lines().count(), scheme.err());
    assertTrue(scheme.err().contains("Cannot resolve model URI runs:/abc/model"), scheme.err());

    Run usage = run("inspect");
    assertEquals(2, usage.code());
    assertTrue(usage.err().contains("<model-uri>"), usage.err());
  }

  @Test
  void helpVersionAndDemo() {
    Run help = run("--help");
    assertEquals(0, help.code());
    assertTrue(help.out().contains("inspect") && help.out().contains("demo"), help.out());
    Run version = run("--version");
    assertEquals(0, version.code());
    assertTrue(version.out().startsWith("llm-batch 0."), version.out());
    Run inspectHelp = run("inspect", "--help");
    assertTrue(inspectHelp.out().contains("--json"), inspectHelp.out());

    Run demo = run("demo", "--output", tmp.resolve("demo").toString());
    assertEquals(0, demo.code(), demo.err());
    // the README's first command: an embeddings job (real all-MiniLM-L6-v2) and a chat job
    assertTrue(demo.out().contains("embeddings") && demo.out().contains("(8 rows, 0 errors)"),
        demo.out());
    assertTrue(tmp.resolve("demo/model/MLmodel").toFile().isFile());
    for (String job : new String[] {"embeddings", "chat"}) {
      assertTrue(tmp.resolve("demo/" + job + "/_llm_batch_summary.json").toFile().isFile(), job);
    }
  }
}
