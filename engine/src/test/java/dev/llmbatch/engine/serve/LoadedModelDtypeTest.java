package dev.llmbatch.engine.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.api.EmbeddingRequest;
import dev.llmbatch.engine.api.RequestKey;
import dev.llmbatch.engine.runtime.ComputeDtype;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The dtype option from ServeOptions to the loaded model. */
class LoadedModelDtypeTest {
  private static Path bertTiny() {
    Path p = Path.of(String.valueOf(System.getProperty("llmbatch.shared.dir")),
        "reference/bert-tiny/mlflow");
    if (!Files.isRegularFile(p.resolve("MLmodel"))) {
      throw new IllegalStateException("Reference bert-tiny missing: " + p);
    }
    return p;
  }

  @Test
  void resolvesPerDeviceAndLoggedTorchDtype() {
    ServeOptions cpu = ServeOptions.DEFAULTS.withDevice("cpu", 1);
    assertEquals("auto", cpu.dtype());
    assertEquals(ComputeDtype.FP32, cpu.computeDtype("torch.bfloat16"));
    assertEquals(ComputeDtype.FP32, cpu.withDtype("FP32").computeDtype(null));
    ServeOptions gpu = cpu.withDevice("gpu:0", 1);
    assertEquals(ComputeDtype.FP16, gpu.computeDtype("torch.bfloat16"));
    assertEquals(ComputeDtype.FP16, gpu.computeDtype("float16"));
    assertEquals(ComputeDtype.FP16, gpu.computeDtype(null));
    assertEquals(ComputeDtype.FP32, gpu.computeDtype("torch.float32"), "never downcast silently");
    assertEquals(ComputeDtype.FP16, gpu.withDtype("fp16").computeDtype("float32"));
    assertEquals(ComputeDtype.FP32, gpu.withDtype("fp32").computeDtype("bfloat16"));
    assertThrows(IllegalArgumentException.class, () -> cpu.withDtype("bf16"));
    EngineException e = assertThrows(EngineException.class,
        () -> cpu.withDtype("fp16").computeDtype(null));
    assertTrue(e.getMessage().startsWith("Cannot compute in fp16 on cpu: dtype=fp16"),
        e.getMessage());
  }

  @Test
  void aGpuOnTheCpuOnlyLibtorchIsRefusedInOneClearLine() {
    EngineException e = assertThrows(EngineException.class, () -> LoadedModel.load(bertTiny(),
        ServeOptions.DEFAULTS.withDevice("gpu:0", 1)));
    assertTrue(e.getMessage().contains("Cannot place the model on gpu:0: this libtorch")
        && e.getMessage().contains("CPU-only")
        && e.getMessage().contains("PYTORCH_LIBRARY_PATH"), e.getMessage());
    assertTrue(!e.getMessage().contains("\n"), "one line");
    assertEquals(0, DevicePlacement.visibleGpus(1));
    assertTrue(DevicePlacement.isGpu("cuda:1") && !DevicePlacement.isGpu("cpu"));
  }

  @Test
  void fp16OnCpuIsRefusedAtLoadAndAutoComputesInFp32() throws Exception {
    EngineException e = assertThrows(EngineException.class, () -> LoadedModel.load(bertTiny(),
        ServeOptions.DEFAULTS.withDevice("cpu", 1).withDtype("fp16")));
    assertTrue(e.getMessage().contains("Cannot load model") && e.getMessage().contains("dtype=fp16")
        && e.getMessage().contains("FP32"), e.getMessage());
    try (LoadedModel m = LoadedModel.load(bertTiny(), ServeOptions.DEFAULTS.withDevice("cpu", 1))) {
      assertEquals(ComputeDtype.FP32, m.dtype());
      assertEquals(1, m.embed(EmbeddingRequest.of(List.of("hello")), RequestKey.of("a")).get()
          .data().size());
      assertEquals(1, m.embeddingStats().requests());
      assertEquals(1, m.embeddingStats().forwards());
    }
  }
}
