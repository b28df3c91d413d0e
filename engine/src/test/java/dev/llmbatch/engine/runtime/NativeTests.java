package dev.llmbatch.engine.runtime;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** What a test of a native path does when that path is not available. */
final class NativeTests {
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

  private static boolean onPath(String exe) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, exe))) {
        return true;
      }
    }
    return false;
  }
}
