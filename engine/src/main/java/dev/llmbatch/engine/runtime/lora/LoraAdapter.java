package dev.llmbatch.engine.runtime.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.runtime.Weights;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEFT LoRA adapter ({@code adapter_config.json} + {@code adapter_model.safetensors}) applied to
 * base weights as they load: for each target module, {@code W' = W + scale · B·A} with
 * {@code A (r, in)}, {@code B (out, r)}, {@code scale = lora_alpha / r}; the delta is transposed for
 * {@code fan_in_fan_out} (Conv1D) weights and for embeddings. Tensors the adapter saves whole
 * ({@code modules_to_save}) replace the base tensor. The merge runs on the host in FP32.
 *
 * <p>Adapter keys are PEFT's: {@code base_model.model.<module>.lora_A.weight} (an adapter name
 * segment, e.g. {@code .default}, may follow {@code lora_A}); the base weight is
 * {@code <module>.weight}, so module names are the checkpoint's names.
 */
public final class LoraAdapter implements AutoCloseable {
  /** The adapter weights file PEFT writes. */
  public static final String WEIGHTS_FILE = "adapter_model.safetensors";
  private static final String PREFIX = "base_model.model.";
  private static final Pattern LINEAR = Pattern.compile("(.+)\\.lora_([AB])(?:\\.[^.]+)?\\.weight");
  private static final Pattern EMBEDDING = Pattern.compile("(.+)\\.lora_embedding_([AB])(?:\\.[^.]+)?");

  private final Path dir;
  private final LoraConfig config;
  private final WeightFiles files;
  /** base weight name -> its low-rank pair */
  private final Map<String, Pair> pairs;
  /** base tensor name -> adapter tensor replacing it (modules_to_save) */
  private final Map<String, String> replacements;
  private final Set<String> applied = Collections.synchronizedSet(new LinkedHashSet<>());

  private record Pair(String module, String a, String b, boolean embedding) {}

  private LoraAdapter(Path dir, LoraConfig config, WeightFiles files, Map<String, Pair> pairs,
      Map<String, String> replacements) {
    this.dir = dir;
    this.config = config;
    this.files = files;
    this.pairs = pairs;
    this.replacements = replacements;
  }

  /**
   * The adapter a logged model carries ({@code peft_adaptor} in its flavor), opened; empty when it
   * has none. The caller closes it after loading.
   */
  public static java.util.Optional<LoraAdapter> of(dev.llmbatch.flavor.LoggedModel model) {
    return model.peftDir().map(LoraAdapter::open);
  }

  /** Opens the adapter in {@code peftDir}, validating its config and tensor names. */
  public static LoraAdapter open(Path peftDir) {
    LoraConfig config = LoraConfig.read(peftDir);
    if (!Files.isRegularFile(peftDir.resolve(WEIGHTS_FILE))) {
      throw new EngineException("Cannot use PEFT adapter " + peftDir + ": " + WEIGHTS_FILE
          + " is missing (pickled adapter_model.bin is never read: re-save the adapter with"
          + " safe_serialization=True)");
    }
    WeightFiles files = WeightFiles.open(peftDir);
    try {
      Map<String, String[]> halves = new LinkedHashMap<>();
      Map<String, Boolean> embedding = new LinkedHashMap<>();
      Map<String, String> replacements = new LinkedHashMap<>();
      for (String key : files.tensors().keySet()) {
        String name = key.startsWith(PREFIX) ? key.substring(PREFIX.length()) : key;
        Matcher lin = LINEAR.matcher(name);
        Matcher emb = EMBEDDING.matcher(name);
        Matcher m = lin.matches() ? lin : emb.matches() ? emb : null;
        if (m == null) {
          if (name.contains("lora_") || name.contains("magnitude")) {
            throw new EngineException("Cannot use PEFT adapter " + peftDir + ": tensor '" + key
                + "' is a LoRA variant this loader does not merge");
          }
          replacements.put(name.replace(".modules_to_save.default.", ".")
              .replace(".modules_to_save.", "."), key);
          continue;
        }
        String module = m.group(1);
        if (!config.targets(module)) {
          throw new EngineException("Cannot use PEFT adapter " + peftDir + ": it holds LoRA weights"
              + " for '" + module + "', which target_modules " + (config.targetRegex() != null
                  ? "'" + config.targetRegex() + "'" : config.targetModules()) + " in "
              + LoraConfig.FILE_NAME + " does not cover; the adapter files do not belong together");
        }
        halves.computeIfAbsent(module, k -> new String[2])[m.group(2).equals("A") ? 0 : 1] = key;
        embedding.put(module, m == emb);
      }
      Map<String, Pair> pairs = new LinkedHashMap<>();
      for (Map.Entry<String, String[]> e : halves.entrySet()) {
        String[] ab = e.getValue();
        if (ab[0] == null || ab[1] == null) {
          throw new EngineException("Cannot use PEFT adapter " + peftDir + ": module '"
              + e.getKey() + "' has lora_" + (ab[0] == null ? "B" : "A") + " but no lora_"
              + (ab[0] == null ? "A" : "B") + "; the adapter file is incomplete");
        }
        pairs.put(e.getKey() + ".weight", new Pair(e.getKey(), ab[0], ab[1],
            embedding.get(e.getKey())));
      }
      if (pairs.isEmpty() && replacements.isEmpty()) {
        throw new EngineException("Cannot use PEFT adapter " + peftDir + ": " + WEIGHTS_FILE
            + " holds no LoRA tensors");
      }
      return new LoraAdapter(peftDir, config, files, pairs, replacements);
    } catch (RuntimeException e) {
      files.close();
      throw e;
    }
  }

  /** The adapter's config. */
  public LoraConfig config() {
    return config;
  }

  /** Base weight names this adapter changes, e.g. {@code model.layers.0.self_attn.q_proj.weight}. */
  public Set<String> targets() {
    Set<String> all = new TreeSet<>(pairs.keySet());
    all.addAll(replacements.keySet());
    return all;
  }

  /** Whether loading {@code weightName} goes through {@link #apply}. */
  public boolean touches(String weightName) {
    return pairs.containsKey(weightName) || replacements.containsKey(weightName);
  }

  /**
   * The merged weight: {@code base} (host, FP32, as stored in the checkpoint) plus the adapter's
   * delta, as a new FP32 array in {@code manager}. {@code base} is never modified (it may be a
   * read-only view over the memory-mapped checkpoint).
   */
  public NDArray apply(String weightName, NDArray base, NDManager manager) {
    Weights adapter = new Weights(files, manager, ComputeDtype.FP32);
    String replacement = replacements.get(weightName);
    if (replacement != null) {
      NDArray r = adapter.get(replacement, base.getShape().getShape());
      applied.add(weightName);
      return r;
    }
    Pair p = pairs.get(weightName);
    if (p == null) {
      return base;
    }
    NDArray a = adapter.get(p.a); // linear (r, in); embedding (r, num_embeddings)
    NDArray b = adapter.get(p.b); // linear (out, r); embedding (dim, r)
    int rank = config.rank(p.module);
    if (a.getShape().dimension() != 2 || b.getShape().dimension() != 2
        || a.getShape().get(0) != rank || b.getShape().get(1) != rank) {
      throw new EngineException("Cannot merge PEFT adapter " + dir + " into '" + weightName
          + "': lora_A " + a.getShape() + " and lora_B " + b.getShape() + " do not have rank "
          + rank + " (r / rank_pattern in " + LoraConfig.FILE_NAME + ")");
    }
    NDArray delta = b.matMul(a); // (out, r) @ (r, in) -> (out, in)
    if (p.embedding || config.fanInFanOut()) {
      delta = delta.transpose(); // (out, in) -> (in, out): Conv1D and embedding tables store it so
    }
    long[] want = base.getShape().getShape();
    if (!Arrays.equals(want, delta.getShape().getShape())) {
      throw new EngineException("Cannot merge PEFT adapter " + dir + " into '" + weightName
          + "': the base weight is " + base.getShape() + " but B·A is " + delta.getShape()
          + (config.fanInFanOut() ? " (transposed for fan_in_fan_out)" : "")
          + "; was the adapter trained on " + config.baseModelNameOrPath() + "?");
    }
    NDArray merged = base.add(delta.mul((float) config.scale(p.module))); // (out, in)
    applied.add(weightName);
    return merged;
  }

  /** Base weight names the adapter changes that were never loaded. */
  public Set<String> unapplied() {
    Set<String> left = targets();
    left.removeAll(applied);
    return left;
  }

  /**
   * Throws when some adapter weights were never merged: the architecture did not load those
   * names, so the served model would silently differ from the trained one. Call after loading.
   */
  public void checkAllApplied() {
    Set<String> left = unapplied();
    if (!left.isEmpty()) {
      throw new EngineException("Cannot apply PEFT adapter " + dir + ": " + left.size()
          + " adapted weight(s) were never loaded by the architecture, e.g. "
          + left.stream().limit(5).toList() + "; the adapter was trained on a model whose"
          + " weight names differ from this checkpoint's (" + config.baseModelNameOrPath() + ")");
    }
  }

  @Override
  public void close() {
    files.close();
  }

  @Override
  public String toString() {
    return "LoRA adapter " + dir + " (r=" + config.r() + ", alpha=" + config.loraAlpha() + ", "
        + pairs.size() + " modules)";
  }
}
