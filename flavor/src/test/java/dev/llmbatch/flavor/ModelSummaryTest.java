package dev.llmbatch.flavor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.hf.HfCache;
import dev.llmbatch.flavor.testing.FlavorFixtures;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelSummaryTest {
  @TempDir Path tmp;

  /** Parameters of the tiny Llama: embed + lm_head + 2 layers + final norm, from its sizes. */
  private static long tinyLlamaParams(int vocab) {
    int h = 16;
    int kv = 8;
    int ffn = 48;
    long layer = h + h * h + 2L * kv * h + h * h + h + 3L * ffn * h;
    return 2L * vocab * h + 2 * layer + h;
  }

  @Test
  void pipelineChat() {
    Path root = FlavorFixtures.pipelineChatModel(tmp.resolve("m"));
    ModelSummary s = ModelSummary.of(LoggedModel.open(root, HfCache.at(tmp)));
    assertEquals(Layout.PIPELINE, s.layout());
    assertEquals("text-generation", s.task());
    assertEquals("llm/v1/chat", s.inferenceTask());
    assertEquals("LlamaForCausalLM", s.architecture());
    assertEquals("llama", s.modelType());
    int vocab = 5 + dev.llmbatch.flavor.sample.SampleTokenizers.sampleWords().size();
    assertEquals(tinyLlamaParams(vocab), s.parameters());
    assertEquals("F32", s.storedDtype());
    assertEquals("torch.float32", s.torchDtype());
    assertEquals("PreTrainedTokenizerFast", s.tokenizer());
    assertTrue(s.chatTemplate());
    assertEquals("<sys>Be brief.</sys>\n{prompt}", s.promptTemplate());
    Map<String, Object> json = s.toJsonMap();
    assertEquals(List.of("layout", "task", "inference_task", "architecture", "model_type",
        "parameters", "dtype", "weights_path", "tokenizer", "chat_template", "model_config",
        "prompt_template"), List.copyOf(json.keySet()));
  }

  @Test
  void checkpointBf16FallsBackToConfigDtype() {
    Path root = FlavorFixtures.checkpointChatModel(tmp.resolve("c"));
    ModelSummary s = ModelSummary.of(LoggedModel.open(root, HfCache.at(tmp)));
    assertEquals(Layout.CHECKPOINT, s.layout());
    assertEquals("BF16", s.storedDtype());
    assertEquals("bfloat16", s.torchDtype(), "flavor has no torch_dtype: config.json's is used");
  }

  @Test
  void embeddingsWithoutChatTemplate() {
    Path root = FlavorFixtures.pipelineEmbeddingModel(tmp.resolve("e"));
    ModelSummary s = ModelSummary.of(LoggedModel.open(root, HfCache.at(tmp)));
    assertEquals("llm/v1/embeddings", s.inferenceTask());
    assertEquals("BertTokenizerFast", s.tokenizer());
    assertFalse(s.chatTemplate());
    assertNull(s.promptTemplate());
    assertTrue(s.modelConfig().isEmpty());
  }
}
