package dev.llmbatch.engine.model.decoder;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.DecoderSpec;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import dev.llmbatch.engine.runtime.TorchRuntime;
import dev.llmbatch.engine.runtime.lora.LoraAdapter;
import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.safetensors.WeightFiles;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Opens a checkpoint on the chosen device and hands it to an architecture's builder. */
final class Assembly {
  private static final Logger LOG = LoggerFactory.getLogger(Assembly.class);

  /** An architecture's weight mapping: checkpoint names → a model. */
  interface Builder {
    DecoderModel build(Checkpoint ck, NDManager manager);
  }

  private Assembly() {}

  static DecoderModel load(Path dir, DecoderConfig config, LoadOptions options, Builder builder) {
    TorchRuntime.engine(options.effectiveThreads());
    Device device = TorchRuntime.device(options.device());
    NDManager manager = TorchRuntime.engine().newBaseManager(device);
    try (WeightFiles files = WeightFiles.open(dir);
        LoraAdapter adapter = options.peftDir() == null ? null
            : LoraAdapter.open(options.peftDir())) {
      Checkpoint ck = new Checkpoint(files, manager, options.dtype(), config.architecture(),
          adapter);
      DecoderModel model = builder.build(ck, manager);
      String packing = ck.packing();
      if (!packing.isEmpty()) {
        LOG.info("{} ({}): {}{}", config.architecture(), dir.getFileName(), packing,
            model.embedsFromHead() ? "; the tied LM head's packed table serves the token"
                + " embeddings too" : "");
      }
      if (adapter != null) {
        try {
          adapter.checkAllApplied(); // every adapted weight merged, or the model is not served
        } catch (RuntimeException e) {
          model.close();
          throw e;
        }
      }
      return model;
    } catch (FlavorException e) {
      manager.close();
      throw new EngineException("Cannot load " + config.architecture() + " from " + dir + ": "
          + e.getMessage(), e);
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** The spec of a model just built. */
  static DecoderSpec spec(DecoderConfig c, Checkpoint ck, LoadOptions o,
      NDManager manager) {
    long kvBytes = 2L * c.numHiddenLayers() * c.numKeyValueHeads() * c.headDim()
        * o.dtype().djl().getNumOfBytes();
    return new DecoderSpec(c.architecture(), c.modelType(), c.vocabSize(),
        c.maxPositionEmbeddings(), c.numHiddenLayers(), kvBytes, ck.parameters(),
        ck.matmulParameters(), ck.bytes(), o.dtype().name(), manager.getDevice().toString());
  }
}
