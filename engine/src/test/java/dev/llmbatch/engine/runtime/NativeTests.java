package dev.llmbatch.engine.runtime;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/** What a test of a native path does when that path is not available, and what it expects. */
public final class NativeTests {
  private NativeTests() {}

  /**
   * Returns when {@code available}. Otherwise skips the test when the path is switched off or
   * cannot be built here (no gcc on PATH, or a JRE without {@code jni.h}), and fails it when it
   * could have been built: then something is wrong with the build or the binding.
   */
  static void requireBuilt(boolean available, String reason, String what) {
    if (available) {
      return;
    }
    if (reason != null && reason.startsWith("turned off")) {
      Assumptions.abort(what + " is " + reason);
    }
    boolean buildable = Files.isRegularFile(
        Path.of(System.getProperty("java.home"), "include", "jni.h")) && onPath("gcc");
    if (buildable) {
      fail("gcc and the JDK headers are here, yet " + what + " is unavailable: " + reason);
    }
    Assumptions.abort(what + " cannot be built here: " + reason);
  }

  /**
   * Whether bfloat16 weights should go to the AMX tile units here, judged apart from the engine:
   * /proc/cpuinfo lists the tiles (the kernel's support included) and LLM_BATCH_AMX does not turn
   * them off.
   */
  public static boolean amxExpected() {
    String e = System.getenv("LLM_BATCH_AMX");
    if ("0".equals(e) || "false".equalsIgnoreCase(e)) {
      return false;
    }
    try {
      List<String> cpu = NativeLibraries.firstCpu();
      return NativeLibraries.cpuHas(cpu, "amx_bf16") && NativeLibraries.cpuHas(cpu, "amx_tile")
          && NativeLibraries.cpuHas(cpu, "avx512_bf16");
    } catch (IOException ex) {
      return false;
    }
  }

  /** Whether /proc/cpuinfo lists {@code flag} for this CPU (false where it cannot be read). */
  public static boolean cpuHas(String flag) {
    try {
      return NativeLibraries.cpuHas(NativeLibraries.firstCpu(), flag);
    } catch (IOException ex) {
      return false;
    }
  }

  private static boolean onPath(String exe) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, exe))) {
        return true;
      }
    }
    return false;
  }
}
