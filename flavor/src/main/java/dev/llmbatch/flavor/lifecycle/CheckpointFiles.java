package dev.llmbatch.flavor.lifecycle;

import dev.llmbatch.flavor.FlavorException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Which files of a Hugging Face checkpoint folder are the tokenizer and which are the model, and
 * the file-tree moves logging and persisting need: hard link or copy, size, delete.
 */
final class CheckpointFiles {
  private CheckpointFiles() {}

  /** Files a tokenizer is made of (fast and slow tokenizers, chat templates). */
  static final Set<String> TOKENIZER_FILES = Set.of("tokenizer.json", "tokenizer_config.json",
      "special_tokens_map.json", "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt",
      "tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "chat_template.jinja",
      "chat_template.json");

  /** Top-level model files save_pretrained writes (besides weights) and sentence-transformers' files. */
  private static final Set<String> MODEL_FILES = Set.of("config.json", "generation_config.json",
      "model.safetensors.index.json", "modules.json", "config_sentence_transformers.json",
      "sentence_bert_config.json");

  /** Whether {@code rel} (a path relative to the checkpoint root) belongs to the tokenizer. */
  static boolean isTokenizerFile(String rel) {
    return !rel.contains("/") && TOKENIZER_FILES.contains(rel);
  }

  /**
   * Whether {@code rel} is a model file persist copies: config, safetensors weights and index,
   * generation config, and sentence-transformers module folders ({@code 1_Pooling/...}). Pickle
   * weights, READMEs, and remote code are left behind.
   */
  static boolean isModelFile(String rel) {
    if (!rel.contains("/")) {
      return MODEL_FILES.contains(rel) || rel.endsWith(".safetensors");
    }
    String top = rel.substring(0, rel.indexOf('/'));
    return top.matches("\\d+_[A-Za-z]+") && rel.endsWith(".json");
  }

  /** Regular files under {@code dir} (following symlinks, skipping hidden entries), relative, sorted. */
  static List<String> list(Path dir) {
    List<String> out = new ArrayList<>();
    try (Stream<Path> s = Files.walk(dir, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        String rel = dir.relativize(p).toString().replace('\\', '/');
        if (rel.isEmpty() || hidden(rel)) {
          continue;
        }
        if (Files.isRegularFile(p) || (Files.isSymbolicLink(p) && !Files.exists(p))) {
          out.add(rel); // a dangling link is listed so that copying it fails loudly
        }
      }
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new FlavorException("Cannot list " + dir + ": " + e, e);
    }
    out.sort(Comparator.naturalOrder());
    return out;
  }

  private static boolean hidden(String rel) {
    for (String part : rel.split("/")) {
      if (part.startsWith(".")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Hard-links {@code src} (its real file, past any cache symlink) at {@code dst}, or copies it
   * when linking is impossible (another filesystem) or {@code copy} is asked. Returns true when
   * linked.
   */
  static boolean linkOrCopy(Path src, Path dst, boolean copy) throws IOException {
    Path real = src.toRealPath();
    Files.createDirectories(dst.getParent());
    if (!copy) {
      try {
        Files.createLink(dst, real);
        return true;
      } catch (IOException | UnsupportedOperationException e) {
        // different filesystems or no hard links: fall through to a streamed copy
      }
    }
    Files.copy(real, dst, StandardCopyOption.REPLACE_EXISTING);
    return false;
  }

  /** Total size of the regular files under {@code dir}. */
  static long size(Path dir) {
    long total = 0;
    for (String rel : list(dir)) {
      try {
        total += Files.size(dir.resolve(rel));
      } catch (IOException e) {
        throw new FlavorException("Cannot read the size of " + dir.resolve(rel) + ": " + e, e);
      }
    }
    return total;
  }

  /** Deletes {@code dir} and everything under it (links are removed, never followed). */
  static void deleteTree(Path dir) {
    if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new FlavorException("Cannot delete " + dir + ": " + e, e);
    }
  }
}
