package dev.llmbatch.engine.model.encoder;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.EncoderSpec;
import dev.llmbatch.engine.model.layers.LayerNorm;
import dev.llmbatch.engine.model.layers.Linear;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.runtime.TorchRuntime;
import dev.llmbatch.engine.runtime.Weights;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Loads an encoder checkpoint folder (config.json + safetensors) as an {@link Encoder}. */
public final class Encoders {
  private static final Set<String> ACTIVATIONS =
      Set.of("gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu");

  private Encoders() {}

  /**
   * Loads {@code modelDir} onto {@code device} computing in {@code dtype}. Dispatches on
   * config.json {@code model_type} ({@value EncoderConfig#SUPPORTED}).
   */
  public static Encoder load(Path modelDir, Device device, ComputeDtype dtype) {
    EncoderConfig c = EncoderConfig.read(modelDir);
    if (!ACTIVATIONS.contains(c.hiddenAct())) {
      throw new EngineException("Cannot load encoder from " + modelDir + ": hidden_act '"
          + c.hiddenAct() + "' is not supported (supported: " + ACTIVATIONS + ")");
    }
    if (dtype == ComputeDtype.FP16 && Device.Type.CPU.equals(device.getDeviceType())) {
      throw new EngineException("Cannot load encoder in FP16 on CPU: libtorch's CPU FP16 matmul is"
          + " unusably slow; use FP32 on CPU");
    }
    TorchRuntime.engine();
    NDManager manager = NDManager.newBaseManager(device);
    try (WeightFiles files = WeightFiles.open(modelDir)) {
      Weights w = new Weights(files, manager, dtype);
      CheckpointNames n = CheckpointNames.detect(c, files);
      int h = c.hiddenSize();
      float eps = (float) c.layerNormEps();
      NDArray word = w.get(n.wordEmbeddings(), c.vocabSize(), h);
      NDArray pos = w.get(n.positionEmbeddings(), c.maxPositionEmbeddings(), h);
      NDArray type = null;
      if (c.typeVocabSize() > 0 && files.has(n.tokenTypeEmbeddings())) {
        type = w.get(n.tokenTypeEmbeddings(), c.typeVocabSize(), h).get(0); // (H)
      }
      LayerNorm embNorm = norm(w, n.embeddingsNorm(), h, eps);
      NDArray rel = null;
      if (c.modelType().equals("mpnet")) {
        rel = w.get(n.relativeAttentionBias(), c.relativeAttentionNumBuckets(),
            c.numAttentionHeads());
      }
      List<EncoderLayer> layers = new ArrayList<>();
      long matmul = 0;
      for (int i = 0; i < c.numHiddenLayers(); i++) {
        Linear q = linear(w, n.query(i), h, h);
        Linear k = linear(w, n.key(i), h, h);
        Linear v = linear(w, n.value(i), h, h);
        // one (3H, H) projection: a single GEMM with three times the columns runs closer to peak
        // attention's 1/√head_dim folded into the query rows: no pass over the scores for it
        Linear qkv = new Linear(NDArrays.concat(new NDList(q.weight(), k.weight(), v.weight()), 0),
            NDArrays.concat(new NDList(q.bias(), k.bias(), v.bias()), 0))
            .scaledOutputs(h, (float) (1.0 / Math.sqrt((double) h / c.numAttentionHeads())));
        EncoderLayer layer = new EncoderLayer(qkv, linear(w, n.attentionOutput(i), h, h),
            norm(w, n.attentionNorm(i), h, eps), linear(w, n.intermediate(i), c.intermediateSize(), h),
            linear(w, n.output(i), h, c.intermediateSize()), norm(w, n.outputNorm(i), h, eps),
            c.numAttentionHeads(), c.hiddenAct());
        layers.add(layer);
        matmul += layer.matmulParameters();
      }
      Linear pooler = files.has(n.pooler() + ".weight") ? linear(w, n.pooler(), h, h) : null;
      EncoderSpec spec = new EncoderSpec(c.architecture(), c.modelType(), h, c.numHiddenLayers(),
          c.numAttentionHeads(), c.maxTokens(), c.vocabSize(), c.padTokenId(), pooler != null,
          files.parameterCount(), matmul, dtype.name(), device.toString());
      return new TransformerEncoder(c, spec, manager, word, pos, type, embNorm, rel, layers,
          pooler);
    } catch (RuntimeException e) {
      manager.close();
      if (e instanceof EngineException) {
        throw e;
      }
      throw new EngineException("Cannot load encoder from " + modelDir + ": " + e.getMessage(), e);
    }
  }

  private static Linear linear(Weights w, String name, int out, int in) {
    return new Linear(w.get(name + ".weight", out, in), w.get(name + ".bias", out));
  }

  private static LayerNorm norm(Weights w, String name, int h, float eps) {
    return new LayerNorm(w.get(name + ".weight", h), w.get(name + ".bias", h), eps);
  }
}
