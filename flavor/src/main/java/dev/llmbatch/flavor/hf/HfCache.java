package dev.llmbatch.flavor.hf;

import dev.llmbatch.flavor.FlavorException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The local Hugging Face hub cache, read offline (never the network): {@code
 * models--{org}--{name}/snapshots/<commit>/...}, where files are relative symlinks into
 * {@code blobs/} or, on systems without symlinks, plain copies; {@code refs/<branch>} holds a commit.
 *
 * @param root the cache root (the {@code hub} folder)
 * @param origin how the root was chosen, for error messages (e.g. {@code HF_HUB_CACHE})
 */
public record HfCache(Path root, String origin) {
  private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
  private static final Pattern REPO_PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

  public HfCache {
    if (root == null) {
      throw new FlavorException("Cannot use a Hugging Face cache: its root folder is not set");
    }
    origin = origin == null ? "explicit path" : origin;
  }

  /** A cache at an explicit root. */
  public static HfCache at(Path root) {
    return new HfCache(root, "explicit path");
  }

  /**
   * The cache the environment names, as huggingface_hub chooses it: {@code HF_HUB_CACHE}, else
   * {@code HF_HOME/hub}, else {@code ~/.cache/huggingface/hub} (HOME from {@code env}, else the
   * JVM's user.home).
   */
  public static HfCache fromEnvironment(Map<String, String> env) {
    String hubCache = env.get("HF_HUB_CACHE");
    if (hubCache != null && !hubCache.isBlank()) {
      return new HfCache(Path.of(hubCache), "HF_HUB_CACHE");
    }
    String hfHome = env.get("HF_HOME");
    if (hfHome != null && !hfHome.isBlank()) {
      return new HfCache(Path.of(hfHome, "hub"), "HF_HOME/hub");
    }
    String home = env.getOrDefault("HOME", System.getProperty("user.home"));
    return new HfCache(Path.of(home, ".cache", "huggingface", "hub"), "~/.cache/huggingface/hub");
  }

  /** The repo folder {@code models--org--name} (case kept, {@code /} becomes {@code --}). */
  public Path repoDir(String repoId) {
    return root.resolve("models--" + checkRepoId(repoId).replace("/", "--"));
  }

  /**
   * The snapshot folder of {@code repoId} at {@code revision} (a 40-hex commit, or a branch or tag
   * looked up in {@code refs/}); throws naming the exact folder expected and the fix when missing.
   */
  public Path snapshot(String repoId, String revision) {
    Path repo = repoDir(repoId);
    String rev = revision == null || revision.isBlank() ? "main" : revision.trim();
    String commit = rev;
    if (!COMMIT.matcher(rev).matches()) {
      if (rev.contains("/") || rev.contains("\\") || rev.startsWith(".")) {
        throw new FlavorException("Cannot resolve revision '" + rev + "' of " + repoId
            + ": it is neither a 40-hex commit nor a plain branch name");
      }
      Path ref = repo.resolve("refs").resolve(rev);
      if (!Files.isRegularFile(ref)) {
        throw missing(repoId, rev, ref);
      }
      try {
        commit = Files.readString(ref, StandardCharsets.UTF_8).trim();
      } catch (IOException e) {
        throw new FlavorException("Cannot read " + ref + ": " + e, e);
      }
      if (!COMMIT.matcher(commit).matches()) {
        throw new FlavorException("Cannot read " + ref + ": it should hold a 40-hex commit but holds '"
            + commit + "'; repopulate the cache");
      }
    }
    Path snap = repo.resolve("snapshots").resolve(commit);
    if (!Files.isDirectory(snap)) {
      throw missing(repoId, rev, snap);
    }
    return snap;
  }

  private FlavorException missing(String repoId, String rev, Path expected) {
    return new FlavorException("Cannot find " + repoId + "@" + rev + " in the Hugging Face cache: "
        + expected + " does not exist (cache root " + root + ", from " + origin + "). Fix: run"
        + " `llm-batch persist <model-uri>` where the hub is reachable to copy the weights into the"
        + " logged model, or populate the cache (e.g. `HF_HUB_CACHE=" + root
        + " huggingface-cli download " + repoId + " --revision " + rev + "`)");
  }

  private static String checkRepoId(String repoId) {
    if (repoId == null || repoId.isBlank()) {
      throw new FlavorException("Cannot look up a model in the Hugging Face cache: the repo id is"
          + " empty (flavor key source_model_name)");
    }
    String[] parts = repoId.split("/", -1);
    boolean ok = parts.length <= 2;
    for (String p : parts) {
      ok &= REPO_PART.matcher(p).matches() && !p.contains("..");
    }
    if (!ok) {
      throw new FlavorException("Cannot look up '" + repoId + "' in the Hugging Face cache: it is"
          + " not a hub repo id like 'org/name' (a local path cannot be resolved from the cache)");
    }
    return repoId;
  }
}
