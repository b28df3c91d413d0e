package dev.llmbatch.engine.model.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.layers.Linear;
import dev.llmbatch.engine.model.layers.Norm;
import dev.llmbatch.engine.runtime.PackedGemm;
import dev.llmbatch.engine.runtime.Weights;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Reads an architecture's weights by checkpoint name into layer objects, counting what was loaded
 * (parameters in matmuls, bytes held) for the {@link dev.llmbatch.engine.model.DecoderSpec}.
 */
final class Checkpoint {
  private final WeightFiles files;
  private final Weights weights;
  private final String architecture;
  private final boolean unprefixed; // a bare *Model: embed_tokens.weight, layers.N.…, norm.weight
  private boolean headless;
  private final List<Linear> packables = new ArrayList<>(); // every linear pack() was given
  private long matmulParameters;
  private long bytes;

  /** {@code adapter} (may be null): a LoRA adapter merged into each weight it targets. */
  Checkpoint(WeightFiles files, NDManager manager, dev.llmbatch.engine.runtime.ComputeDtype dtype,
      String architecture, dev.llmbatch.engine.runtime.lora.LoraAdapter adapter) {
    this.files = files;
    this.weights = new Weights(files, manager, dtype, adapter);
    this.architecture = architecture;
    this.unprefixed = !weights.has("model.embed_tokens.weight")
        && weights.has("embed_tokens.weight");
  }

  /** Embeddings only: the LM head is neither needed nor loaded (see {@link DecoderEmbedder}). */
  void withoutHead() {
    headless = true;
  }

  /** The stored name: HF saves a bare {@code *Model} without the {@code model.} prefix. */
  private String stored(String name) {
    return unprefixed && name.startsWith("model.") ? name.substring("model.".length()) : name;
  }

  boolean has(String name) {
    return weights.has(stored(name));
  }

  /** Loads {@code name} with the expected shape; a missing weight names itself and the files. */
  NDArray tensor(String checkpointName, long... shape) {
    String name = stored(checkpointName);
    if (!weights.has(name)) {
      String where = files.files().stream().map(Path::getFileName).map(Path::toString)
          .collect(Collectors.joining(", "));
      throw new EngineException("Cannot load weight '" + name + "': it is not in " + where
          + " (" + files.dir() + "), which config.json says holds a " + architecture
          + " checkpoint; is the checkpoint complete and the model_type right?");
    }
    NDArray a = weights.get(name, shape);
    bytes += a.size() * a.getDataType().getNumOfBytes();
    return a;
  }

  /** Whether {@code a}, loaded by {@link #tensor}, is a view of the checkpoint file's mapping. */
  boolean mapsFile(NDArray a) {
    return weights.mapsFile(a);
  }

  /**
   * A generating model's linears pack once on the CPU (decode steps of a few rows); an
   * embedding model's ({@link #withoutHead}) only ever see whole prompts, so they stay plain,
   * where libtorch's sgemm is as fast, unless they are BF16 weights the AMX tile units can take
   * ({@link Linear#packsOnAmx}, whose scan of the weight the loader's later questions reuse),
   * which run prompts 2–3× as fast.
   */
  private Linear make(NDArray w, NDArray b) {
    Linear packable = Linear.packable(w, b);
    return headless && !packable.packsOnAmx() ? new Linear(w, b) : packable;
  }

  /** {@code prefix.weight} (out, in) and, if {@code bias}, {@code prefix.bias} (out). */
  Linear linear(String prefix, boolean bias, long out, long in) {
    NDArray w = tensor(prefix + ".weight", out, in);
    matmulParameters += w.size();
    return make(w, bias ? tensor(prefix + ".bias", out) : null);
  }

  /** Several projections of the same input fused row-wise into one (Σ out, in) matmul. */
  Linear fused(String[] prefixes, boolean bias, long[] outs, long in) {
    NDList ws = new NDList();
    NDList bs = new NDList();
    for (int i = 0; i < prefixes.length; i++) {
      ws.add(tensor(prefixes[i] + ".weight", outs[i], in));
      if (bias) {
        bs.add(tensor(prefixes[i] + ".bias", outs[i]));
      }
    }
    NDArray w = ai.djl.ndarray.NDArrays.concat(ws, 0); // (Σ out, in): a copy in the compute layout
    NDArray b = bias ? ai.djl.ndarray.NDArrays.concat(bs, 0) : null;
    ws.close(); // the originals (zero-copy views of the mapped file, or widened copies) are done
    bs.close();
    matmulParameters += w.size();
    return make(w, b);
  }

  /** GPT-2's Conv1D: weight stored (in, out), transposed once here to (out, in). */
  Linear conv1d(String prefix, long in, long out) {
    NDArray stored = tensor(prefix + ".weight", in, out);
    NDArray w = stored.transpose().flatten().reshape(out, in); // contiguous (out, in)
    stored.close();
    matmulParameters += w.size();
    return make(w, tensor(prefix + ".bias", out));
  }

  /** {@code prefix.weight} (and {@code prefix.bias} for LayerNorm) of width {@code n}. */
  Norm norm(Norm.Kind kind, String prefix, long n, float eps) {
    NDArray w = tensor(prefix + ".weight", n);
    NDArray b = kind == Norm.Kind.LAYER ? tensor(prefix + ".bias", n) : null;
    return Norm.of(kind, w, b, eps);
  }

  /** The LM head: its own weight, or the embedding table when tied. */
  Linear lmHead(String name, NDArray embedding, boolean tied, long vocab, long hidden) {
    if (headless) {
      return null;
    }
    if (tied) {
      matmulParameters += embedding.size();
      // packable only where its packed copy can also serve the embedding lookup (the engine's own
      // GEMM on the CPU): if it packs, the table is held once, packed, and the model gathers from
      // it (DecoderModel); elsewhere plain, as packing would hold the table twice
      boolean gather = !embedding.getDevice().isGpu() && PackedGemm.gathersRows();
      return gather ? Linear.packable(embedding, null) : new Linear(embedding, null);
    }
    return linear(name.substring(0, name.length() - ".weight".length()), false, vocab, hidden);
  }

  /**
   * Packs {@code l} now if it packs on the CPU ({@link Linear#prepack}): a builder calls this for
   * each layer's final linears as the layer is built, so only one layer is ever held both as
   * loaded and as packed. Returns {@code l}.
   */
  Linear pack(Linear l) {
    if (l != null) {
      l.prepack();
      packables.add(l);
    }
    return l;
  }

  /**
   * What packing did to the linears {@link #pack} was given, for the load log, read once the
   * model is built (its native layer stack packs small projections too: {@link
   * Linear#packedForStack}): "" when nothing was packed (a GPU, an embedder, packing off).
   */
  String packing() {
    Map<String, Integer> packedAs = new TreeMap<>(); // format → weights packed so
    long bytes = 0;
    int swiGluPairs = 0;
    String pairs = "SwiGLU";
    for (Linear l : packables) {
      if (l.packedBytes() > 0) {
        bytes += l.packedBytes();
        packedAs.merge(l.held(), 1, Integer::sum);
        if (l.packed().swiGluSplit() > 0) {
          swiGluPairs++;
          pairs = l.packed().gate() == PackedGemm.Gate.SILU ? "SwiGLU" : "GeGLU";
        }
      }
    }
    if (packedAs.isEmpty()) {
      return "";
    }
    int weights = packedAs.values().stream().mapToInt(Integer::intValue).sum();
    String as = packedAs.entrySet().stream()
        .map(e -> e.getValue() + " as " + e.getKey())
        .collect(Collectors.joining(", "));
    return String.format("%d linear weights packed for the CPU GEMM (%s; 16-bit ones hold the"
        + " values exactly%s), %.1f MB", weights, as, swiGluPairs == 0 ? ""
            : "; " + swiGluPairs + " gate|up as " + pairs + " pairs, gated in the GEMM",
        bytes / 1e6);
  }

  long matmulParameters() {
    return matmulParameters;
  }

  /** Parameters stored in the checkpoint files. */
  long parameters() {
    return files.parameterCount();
  }

  long bytes() {
    return bytes;
  }
}
