package dev.llmbatch.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.flavor.safetensors.DType;
import dev.llmbatch.flavor.sample.SampleModels;
import dev.llmbatch.flavor.sample.SampleTokenizers;
import dev.llmbatch.flavor.sample.SampleModels.LlamaSizes;
import dev.llmbatch.jobs.LlmBatchCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code llm-batch log} end to end through the CLI, then {@code inspect} on what it wrote. */
class LogCommandTest {
  @TempDir Path tmp;

  record Run(int code, String out, String err) {}

  private Run run(Map<String, String> env, String... args) {
    CommandLine cmd = LlmBatchCli.commandLine();
    cmd.getCommandSpec().removeSubcommand("log");
    cmd.addSubcommand("log", new LogCommand(env));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cmd.setOut(new PrintWriter(out));
    cmd.setErr(new PrintWriter(err));
    return new Run(cmd.execute(args), out.toString(), err.toString());
  }

  @Test
  void logsRegistersAndInspects() throws Exception {
    Path ckpt = tmp.resolve("ckpt");
    int vocab = SampleTokenizers.writeWordLevel(ckpt, SampleTokenizers.sampleWords(),
        SampleTokenizers.CHATML_TEMPLATE);
    SampleModels.writeLlama(ckpt, LlamaSizes.tiny(vocab), DType.BF16, 9);
    Map<String, String> env = Map.of("MLFLOW_TRACKING_URI", tmp.resolve("mlruns").toString());
    Path out = tmp.resolve("out");
    Run r = run(env, "log", "--checkpoint", ckpt.toString(), "--task", "llm/v1/chat", "--output",
        out.toString(), "--model-config", "max_tokens=64", "--model-config", "temperature=0.2",
        "--torch-dtype", "bfloat16", "--register", "tiny-chat");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("Registered as models:/tiny-chat/1"), r.out());
    assertTrue(Files.isRegularFile(tmp.resolve("mlruns/models/tiny-chat/version-1/meta.yaml")));
    Run inspect = run(env, "inspect", out.toString(), "--json");
    assertEquals(0, inspect.code(), inspect.err());
    JsonNode j = new ObjectMapper().readTree(inspect.out());
    assertEquals("CHECKPOINT", j.get("layout").asText());
    assertEquals("llm/v1/chat", j.get("inference_task").asText());
    assertEquals("LlamaForCausalLM", j.get("architecture").asText());
    assertEquals("BF16", j.get("dtype").get("stored").asText());
    assertEquals("torch.bfloat16", j.get("dtype").get("torch_dtype").asText());
    assertEquals(64, j.get("model_config").get("max_tokens").asInt());
    assertTrue(j.get("chat_template").asBoolean());
  }

  @Test
  void aWrongTaskFailsWithOneLineListingTheValidTasks() {
    Path bert = tmp.resolve("bert");
    int vocab = SampleTokenizers.writeWordLevel(bert, SampleTokenizers.sampleWords(), null);
    SampleModels.writeBert(bert, vocab, 2);
    Run r = run(Map.of(), "log", "--checkpoint", bert.toString(), "--task", "text-generation",
        "--output", tmp.resolve("o").toString());
    assertEquals(1, r.code());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().contains("BertModel") && r.err().contains("llm/v1/embeddings"), r.err());
    assertFalse(Files.exists(tmp.resolve("o")));
  }
}
