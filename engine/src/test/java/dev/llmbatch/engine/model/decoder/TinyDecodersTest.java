package dev.llmbatch.engine.model.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.KvCache;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.testing.TinyDecoders;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The chat flavor folders other modules' tests run on: complete, loadable, full vocabulary. */
class TinyDecodersTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen3"})
  void chatFlavorIsACompleteMlflowFolderWithALoadableModel(String type) throws IOException {
    Path dir = TinyDecoders.chatFlavor(tmp.resolve(type), type);
    String mlmodel = Files.readString(dir.resolve("MLmodel"));
    assertTrue(mlmodel.contains("inference_task: llm/v1/chat")
        && mlmodel.contains("task: text-generation"), mlmodel);
    for (String f : List.of("model/config.json", "model/model.safetensors",
        "model/generation_config.json", "components/tokenizer/tokenizer.json",
        "components/tokenizer/tokenizer_config.json",
        "components/tokenizer/special_tokens_map.json")) {
      assertTrue(Files.isRegularFile(dir.resolve(f)), f);
    }
    try (CausalLm m = Architectures.loadCausalLm(dir.resolve("model"),
        new LoadOptions("cpu", ComputeDtype.FP32, 1));
        KvCache cache = m.allocateCache(1, 16)) {
      assertEquals(151669, m.spec().vocabSize());
      float[] logits = m.step(cache, List.of(new StepInput(0, 0, new int[] {9707, 151645})))[0];
      assertEquals(151669, logits.length);
      assertTrue(Float.isFinite(logits[151668]) && logits[0] != logits[1]);
    }
  }
}
