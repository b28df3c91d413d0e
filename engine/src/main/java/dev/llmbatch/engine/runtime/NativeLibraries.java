package dev.llmbatch.engine.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;

/**
 * Builds and loads the engine's small JNI libraries (C sources shipped as resources of this
 * package) on the machine that runs them: compiled with {@code gcc} and the JDK's {@code jni.h} on
 * first use into the llm-batch native cache ({@code $LLM_BATCH_CACHE}, default {@code
 * ~/.cache/llm-batch}, {@code native/}; the temp directory if that is not writable), named by the
 * source's checksum (and by the CPU when built for it), and moved into place atomically so that
 * concurrent executors on one node are safe. Every failure is a reason string, never an exception:
 * the callers fall back to libtorch and log why.
 */
final class NativeLibraries {
  private NativeLibraries() {}

  /**
   * Compiles (once per cache) and loads {@code resource} with {@code flags}; {@code forThisCpu}
   * (flags such as {@code -march=native}) puts the CPU's model and feature flags into the library's
   * name, so a cache shared by different machines never hands one another's build. Returns null,
   * or why the library is unavailable.
   */
  static String load(String resource, List<String> flags, boolean forThisCpu) {
    try {
      byte[] source;
      try (InputStream in = NativeLibraries.class.getResourceAsStream(resource)) {
        if (in == null) {
          return "resource " + resource + " is missing from the engine jar";
        }
        source = in.readAllBytes();
      }
      CRC32 crc = new CRC32();
      crc.update(source);
      crc.update(String.join(" ", flags).getBytes(StandardCharsets.UTF_8));
      if (forThisCpu) {
        crc.update(cpuIdentity().getBytes(StandardCharsets.UTF_8));
      }
      String stem = resource.substring(0, resource.lastIndexOf('.'));
      String name = "libllmbatch-" + stem + "-" + Long.toHexString(crc.getValue()) + ".so";
      Path lib = cacheDir().resolve("native").resolve(name);
      if (!Files.isRegularFile(lib)) {
        String why;
        try {
          why = compile(resource, source, flags, lib.getParent(), lib);
        } catch (IOException unwritable) { // e.g. a read-only home on a cluster node
          Path tmp = Path.of(System.getProperty("java.io.tmpdir"),
              "llm-batch-native-" + System.getProperty("user.name"));
          lib = tmp.resolve(name);
          why = Files.isRegularFile(lib) ? null : compile(resource, source, flags, tmp, lib);
        }
        if (why != null) {
          return why;
        }
      }
      System.load(lib.toString());
      return null;
    } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
      return "cannot build or load the JNI library from " + resource + ": " + e;
    }
  }

  /**
   * Why a native path cannot be used before building anything: turned off by its environment
   * variable ({@code 0} or {@code false}) or system property ({@code false}), or the engine is not
   * DJL's PyTorch (it binds libtorch's own libraries); null when it can. Starts the engine.
   */
  static String blocked(String env, String property) {
    if (!turnedOn(env, property)) {
      return "turned off (" + env + "=0 or -D" + property + "=false)";
    }
    if (!"PyTorch".equals(TorchRuntime.engine().getEngineName())) {
      return "the engine is not PyTorch";
    }
    return null;
  }

  /** False where {@code env} is 0 or false, or the system property {@code property} false. */
  static boolean turnedOn(String env, String property) {
    String e = System.getenv(env);
    return !("0".equals(e) || "false".equalsIgnoreCase(e)
        || "false".equalsIgnoreCase(System.getProperty(property)));
  }

  /** A direct view of a CPU array's data (libtorch makes a contiguous copy first if needed). */
  static ByteBuffer buffer(NDArray a) {
    return JniUtils.getByteBuffer((PtNDArray) a, true);
  }

  /** The path of a shared library mapped into this process whose file name starts with prefix. */
  static Path loadedLibrary(String prefix) throws IOException {
    return loadedLibrary(prefix, null);
  }

  /**
   * The same, preferring one in the folder of the mapped library named by {@code nearPrefix}
   * (libtorch's bundled libgomp over a system one another library may have loaded); null if none
   * is mapped. One read of /proc/self/maps.
   */
  static Path loadedLibrary(String prefix, String nearPrefix) throws IOException {
    Path maps = Path.of("/proc/self/maps");
    if (!Files.isReadable(maps)) {
      return null;
    }
    List<Path> found = new ArrayList<>();
    Path near = null;
    for (String line : Files.readAllLines(maps)) {
      int slash = line.indexOf('/');
      if (slash >= 0) {
        Path p = Path.of(line.substring(slash));
        String file = p.getFileName().toString();
        if (file.startsWith(prefix)) {
          found.add(p);
        }
        if (nearPrefix != null && near == null && file.startsWith(nearPrefix)) {
          near = p;
        }
      }
    }
    for (Path p : found) {
      if (near == null || p.getParent().equals(near.getParent())) {
        return p;
      }
    }
    return found.isEmpty() ? null : found.get(0);
  }

  private static Path cacheDir() {
    String env = System.getenv("LLM_BATCH_CACHE");
    return env != null && !env.isBlank() ? Path.of(env)
        : Path.of(System.getProperty("user.home"), ".cache", "llm-batch");
  }

  /** The first processor's model name and feature flags from /proc/cpuinfo ("" if unreadable). */
  private static String cpuIdentity() throws IOException {
    StringBuilder id = new StringBuilder();
    for (String line : firstCpu()) {
      if (line.startsWith("model name") || line.startsWith("flags")) {
        id.append(line).append('\n');
      }
    }
    return id.toString();
  }

  /** The first processor's lines of /proc/cpuinfo (none where it cannot be read: not Linux). */
  static List<String> firstCpu() throws IOException {
    Path info = Path.of("/proc/cpuinfo");
    if (!Files.isReadable(info)) {
      return List.of();
    }
    List<String> lines = Files.readAllLines(info);
    int end = lines.indexOf(""); // the blank line after the first processor
    return end < 0 ? lines : lines.subList(0, end);
  }

  /** Whether {@code flag} is among the feature flags of {@code cpu} ({@link #firstCpu}'s lines). */
  static boolean cpuHas(List<String> cpu, String flag) {
    return cpu.stream().anyMatch(l -> l.startsWith("flags") && (l + " ").contains(" " + flag + " "));
  }

  /** gcc -shared the source into {@code lib} (atomically); null, or why it could not. */
  private static String compile(String resource, byte[] source, List<String> flags, Path dir,
      Path lib) throws IOException {
    Path include = Path.of(System.getProperty("java.home"), "include");
    if (!Files.isRegularFile(include.resolve("jni.h"))) {
      return "this Java runtime has no include/jni.h (a JRE, not a JDK) to build the JNI library";
    }
    Files.createDirectories(dir);
    Path src = Files.createTempFile(dir, "llmbatch-native", ".c");
    Path tmp = Files.createTempFile(dir, "llmbatch-native", ".so.tmp");
    try {
      Files.write(src, source);
      List<String> cmd = new ArrayList<>(List.of("gcc"));
      cmd.addAll(flags);
      cmd.addAll(List.of("-shared", "-fPIC", "-I" + include, "-I" + include.resolve("linux"),
          "-o", tmp.toString(), src.toString(), "-ldl", "-lpthread", "-lm"));
      Process p;
      try {
        p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      } catch (IOException e) {
        return "no gcc on PATH to build the JNI library (" + e.getMessage() + ")";
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "gcc did not finish building the JNI library in 120 s";
      }
      if (p.exitValue() != 0) {
        return "gcc failed to build " + resource + ": " + out.strip();
      }
      Files.move(tmp, lib, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted while building the JNI library";
    } finally {
      Files.deleteIfExists(src);
      Files.deleteIfExists(tmp);
    }
  }
}
