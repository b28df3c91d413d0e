package dev.llmbatch.jobs.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;

/** {@code --version}: the project version (filtered into a resource at build time) and the JVM. */
public final class VersionProvider implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    return new String[] {"llm-batch " + projectVersion(),
        "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")"};
  }

  /** The version this build was made from. */
  public static String projectVersion() {
    Properties p = new Properties();
    try (InputStream in = VersionProvider.class.getResourceAsStream("/dev/llmbatch/jobs/version.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException ignored) {
      // reported as unknown below
    }
    return p.getProperty("version", "unknown");
  }
}
