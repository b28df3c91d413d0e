package dev.llmbatch.flavor.lifecycle;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.MLmodel;
import dev.llmbatch.flavor.MLmodelReader;
import dev.llmbatch.flavor.MLmodelWriter;
import dev.llmbatch.flavor.TransformersFlavor;
import dev.llmbatch.flavor.hf.HfCache;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code persist} for reference-only models: copies the pinned snapshot's files from the local
 * Hugging Face cache into the artifact location ({@code model/} and {@code components/tokenizer/},
 * streamed, never a weight in memory) and rewrites MLmodel as MLflow's
 * {@code persist_pretrained_model} does (adds {@code model_binary: model}; drops
 * {@code source_model_revision} and the components' names and revisions). Files go to a hidden
 * staging folder first, are moved into place, and MLmodel is replaced last, atomically; if any step
 * fails everything already moved is taken back, so the location is as it was. A model that already
 * has {@code model_binary} and its folder is left alone.
 */
public final class ModelPersister {
  private static final Logger LOG = LoggerFactory.getLogger(ModelPersister.class);
  private static final String MODEL_DIR = "model";
  private static final String TOKENIZER_DIR = "components/tokenizer";

  private final HfCache cache;

  /** A persister reading snapshots from {@code cache}. */
  public ModelPersister(HfCache cache) {
    this.cache = cache;
  }

  /**
   * What persist did.
   *
   * @param location the artifact location
   * @param alreadyPersisted true when nothing had to be done
   * @param files files copied
   * @param bytes bytes copied
   * @param mlmodel the MLmodel now at the location
   */
  public record Result(String location, boolean alreadyPersisted, int files, long bytes,
      MLmodel mlmodel) {}

  private record Copy(Path source, String target) {}

  /** Persists the model whose artifact folder {@code files} is. */
  public Result persist(ArtifactFiles files) {
    String where = files.describe();
    MLmodel mlmodel = readMlmodel(files);
    TransformersFlavor flavor = mlmodel.requireTransformers(where + "/" + MLmodel.FILE_NAME);
    if (flavor.modelBinary() != null) {
      if (exists(files, flavor.modelBinary())) {
        LOG.info("{} already holds its weights in {}/: nothing to persist", where,
            flavor.modelBinary());
        return new Result(where, true, 0, 0, mlmodel);
      }
      throw FlavorException.of("Cannot persist %s: MLmodel names model_binary '%s' but that folder"
          + " is missing; the artifact is incomplete, copy it again", where, flavor.modelBinary());
    }
    if (flavor.sourceModelRevision() == null) {
      throw FlavorException.of("Cannot persist %s: it is not a reference-only model (MLmodel has"
          + " neither model_binary nor source_model_revision); only models logged with"
          + " save_pretrained=False can be persisted", where);
    }
    for (String stale : List.of(MODEL_DIR, TOKENIZER_DIR)) {
      if (exists(files, stale)) {
        throw FlavorException.of("Cannot persist %s: %s/ already exists although MLmodel has no"
            + " model_binary (left by an interrupted persist?); delete %s/%s and run persist"
            + " again", where, stale, where, stale);
      }
    }
    List<Copy> plan = plan(flavor);
    String stage = ".llmbatch-persist-" + UUID.randomUUID();
    List<String[]> moved = new ArrayList<>();
    boolean hadComponents = exists(files, "components");
    long bytes = 0;
    try {
      for (Copy c : plan) {
        bytes += stream(c.source(), files, stage + "/" + c.target());
      }
      for (String dir : List.of(MODEL_DIR, TOKENIZER_DIR)) {
        if (exists(files, stage + "/" + dir)) {
          files.rename(stage + "/" + dir, dir);
          moved.add(new String[] {dir, stage + "/" + dir});
        }
      }
      MLmodel persisted = mlmodel.withTransformers(flavor.withPersistedWeights(MODEL_DIR));
      files.writeAtomically(MLmodel.FILE_NAME,
          MLmodelWriter.toYaml(persisted).getBytes(StandardCharsets.UTF_8));
      LOG.info("Persisted {}@{} into {}: {} files, {} MB", flavor.sourceModelName(),
          flavor.sourceModelRevision(), where, plan.size(), bytes >> 20);
      cleanUp(files, stage);
      return new Result(where, false, plan.size(), bytes, persisted);
    } catch (IOException | RuntimeException e) {
      rollBack(files, moved);
      if (!hadComponents) {
        cleanUp(files, "components");
      }
      cleanUp(files, stage);
      String why = e instanceof FlavorException ? e.getMessage() : e.toString();
      throw new FlavorException("Cannot persist " + where + ": " + why + "; nothing was changed"
          + " (MLmodel and the folder are as before)", e);
    }
  }

  private static MLmodel readMlmodel(ArtifactFiles files) {
    try {
      if (!files.exists(MLmodel.FILE_NAME)) {
        throw FlavorException.of("Cannot persist %s: there is no MLmodel file; the URI must name"
            + " the logged model's folder", files.describe());
      }
      return MLmodelReader.parse(new String(files.read(MLmodel.FILE_NAME), StandardCharsets.UTF_8),
          files.describe() + "/" + MLmodel.FILE_NAME);
    } catch (IOException e) {
      throw new FlavorException("Cannot read " + files.describe() + "/MLmodel: " + e, e);
    }
  }

  /** The snapshot files to copy, checked before anything is written. */
  private List<Copy> plan(TransformersFlavor flavor) {
    Path modelSnap = cache.snapshot(flavor.sourceModelName(), flavor.sourceModelRevision());
    try (WeightFiles weights = WeightFiles.open(modelSnap)) {
      LOG.debug("Snapshot {} holds {} tensors", modelSnap, weights.tensors().size());
    }
    List<Copy> plan = new ArrayList<>();
    for (String rel : CheckpointFiles.list(modelSnap)) {
      if (CheckpointFiles.isModelFile(rel)) {
        plan.add(new Copy(modelSnap.resolve(rel), MODEL_DIR + "/" + rel));
      }
    }
    for (TransformersFlavor.Component c : flavor.components()) {
      if (!c.name().equals("tokenizer")) {
        throw FlavorException.of("Cannot persist %s@%s: component '%s' is not supported (only"
            + " tokenizer)", flavor.sourceModelName(), flavor.sourceModelRevision(), c.name());
      }
      Path tokSnap = c.sourceName() == null ? modelSnap : cache.snapshot(c.sourceName(),
          c.revision() != null ? c.revision() : flavor.sourceModelRevision());
      int before = plan.size();
      for (String rel : CheckpointFiles.list(tokSnap)) {
        if (CheckpointFiles.isTokenizerFile(rel)) {
          plan.add(new Copy(tokSnap.resolve(rel), TOKENIZER_DIR + "/" + rel));
        }
      }
      if (plan.size() == before) {
        throw FlavorException.of("Cannot persist %s@%s: snapshot %s has no tokenizer files (%s)",
            flavor.sourceModelName(), flavor.sourceModelRevision(), tokSnap,
            CheckpointFiles.TOKENIZER_FILES);
      }
    }
    return plan;
  }

  /** Streams one file (following the cache's symlink) and checks the size written. */
  private static long stream(Path source, ArtifactFiles files, String target) throws IOException {
    long expected;
    try {
      expected = Files.size(source);
    } catch (IOException e) {
      throw new IOException("cannot read snapshot file " + source + " (" + e
          + "); the cache entry is incomplete or unreadable: download it again", e);
    }
    long n;
    try (InputStream in = Files.newInputStream(source); OutputStream out = files.create(target)) {
      n = in.transferTo(out);
    } catch (IOException e) {
      throw new IOException("copying " + source + " to " + target + " failed: " + e, e);
    }
    if (n != expected) {
      throw new IOException("copied " + n + " bytes of " + source + " but it has " + expected);
    }
    return n;
  }

  private static boolean exists(ArtifactFiles files, String rel) {
    try {
      return files.exists(rel);
    } catch (IOException e) {
      throw new FlavorException("Cannot read " + files.describe() + "/" + rel + ": " + e, e);
    }
  }

  private static void rollBack(ArtifactFiles files, List<String[]> moved) {
    for (String[] m : moved) {
      try {
        files.rename(m[0], m[1]);
      } catch (IOException | RuntimeException e) {
        try {
          files.deleteRecursively(m[0]);
        } catch (IOException | RuntimeException e2) {
          LOG.error("Cannot roll back {}/{}: {}; delete it by hand", files.describe(), m[0],
              e2.toString());
        }
      }
    }
  }

  private static void cleanUp(ArtifactFiles files, String rel) {
    try {
      files.deleteRecursively(rel);
    } catch (IOException | RuntimeException e) {
      LOG.warn("Cannot delete {}/{}: {}", files.describe(), rel, e.toString());
    }
  }
}
