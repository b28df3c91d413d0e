package dev.llmbatch.engine.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where the engine points JNA for libcudart (DJL counts GPUs through it): the layouts of a pip
 * PyTorch (torch/lib beside nvidia/PACKAGE/lib, as on the H200 run of docs/benchmarks.md) and of
 * a libtorch folder that holds its own runtime.
 */
class CudartFolderTest {
  @TempDir Path dir;

  private Path file(String relative) throws IOException {
    Path f = dir.resolve(relative);
    Files.createDirectories(f.getParent());
    return Files.createFile(f);
  }

  @Test
  void aPipTorchFindsTheRuntimeInItsNvidiaPackages() throws IOException {
    Path lib = file("site-packages/torch/lib/libtorch.so").getParent();
    file("site-packages/nvidia/cublas/lib/libcublas.so.13");
    Path runtime = file("site-packages/nvidia/cu13/lib/libcudart.so.13").getParent();
    assertEquals(runtime.toString(), TorchRuntime.cudartFolder(lib.toString()));
    // a relative, un-normalised entry after an empty one names the same folder
    assertEquals(runtime.toString(), TorchRuntime.cudartFolder(":" + lib.resolve("..")
        .resolve("lib")));
  }

  @Test
  void aLibtorchHoldingItsOwnRuntimeIsItsOwnFolder() throws IOException {
    Path lib = file("libtorch/lib/libcudart.so.12").getParent();
    file("libtorch/lib/libtorch.so");
    assertEquals(lib.toString(), TorchRuntime.cudartFolder("/nonexistent:" + lib));
  }

  @Test
  void noRuntimeAnywhereLeavesJnaAlone() throws IOException {
    Path lib = file("cpu/torch/lib/libtorch.so").getParent();
    file("cpu/nvidia/cublas/lib/libcublas.so.13");
    assertNull(TorchRuntime.cudartFolder(lib.toString()));
    assertNull(TorchRuntime.cudartFolder(null));
    assertNull(TorchRuntime.cudartFolder(" "));
  }
}
