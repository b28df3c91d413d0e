package dev.llmbatch.engine.model.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.DecoderSpec;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.EncoderSpec;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.model.Pooling;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import dev.llmbatch.engine.model.layers.StepBatch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A decoder-based embedding model (Qwen3-Embedding, gte-Qwen2, e5-mistral, …) as an {@link
 * Encoder}: the decoder stack of {@link DecoderModel} run once over the whole input, causal, its
 * final-norm hidden states pooled (last-token for these models). The LM head is never loaded, and
 * checkpoints of HF's bare {@code *Model} classes ({@code embed_tokens.weight}, {@code layers.N.…},
 * {@code norm.weight}: no {@code model.} prefix, no {@code lm_head}) load as well as {@code
 * *ForCausalLM} ones.
 *
 * <p>A batch is right-padded: each row keeps positions {@code 0..len-1}, its padding never reaches
 * a real token (causal mask, padding writes to the cache's trash row), so a row's vector does not
 * depend on its batch and "last token" is simply each row's last real token. The forward needs the
 * keys and values of one layer at a time only, so one scratch {@link SlotKvCache} layer of
 * {@code (B·Hkv·T + 1, D)} serves every layer in turn. Not thread-safe: one caller at a time.
 */
public final class DecoderEmbedder implements Encoder {
  /** The decoder model_types that embed (the Llama lineage of {@link LlamaFamily}). */
  public static final List<String> MODEL_TYPES =
      List.of("llama", "mistral", "qwen2", "qwen3", "phi3", "gemma", "gemma2");

  private final DecoderModel model;
  private final DecoderStack stack;
  private final EncoderSpec spec;

  private DecoderEmbedder(DecoderModel model, EncoderSpec spec) {
    this.model = model;
    this.stack = model.stack();
    this.spec = spec;
  }

  /**
   * Whether {@code modelDir}'s config.json names a decoder {@code model_type} (one of {@link
   * Architectures#CAUSAL_LM_TYPES}): such an embeddings model is loaded here, not as a BERT-style
   * encoder.
   */
  public static boolean isDecoder(Path modelDir) {
    JsonNode root = Architectures.readConfig(modelDir);
    return Architectures.CAUSAL_LM_TYPES.contains(root.path("model_type").asText(""));
  }

  /**
   * Loads the decoder checkpoint in {@code modelDir} for embeddings: {@code architectures} may be
   * {@code Qwen3Model}, {@code Qwen3ForCausalLM}, {@code MistralModel}, … (only {@code model_type}
   * decides), the {@code model.} prefix and {@code lm_head} are optional.
   */
  public static DecoderEmbedder load(Path modelDir, LoadOptions options) {
    JsonNode root = Architectures.readConfig(modelDir);
    Path file = modelDir.resolve("config.json");
    String type = root.path("model_type").asText("");
    if (!root.path("is_causal").asBoolean(true)) {
      throw new EngineException("Cannot load " + file + " for embeddings: is_causal is false"
          + " (bidirectional attention), and llm-batch runs decoder stacks causally only");
    }
    DecoderConfig c = switch (type) {
      case "llama" -> LlamaForCausalLM.config(root, file);
      case "mistral" -> MistralForCausalLM.config(root, file);
      case "qwen2" -> Qwen2ForCausalLM.config(root, file);
      case "qwen3" -> Qwen3ForCausalLM.config(root, file);
      case "phi3" -> Phi3ForCausalLM.config(root, file);
      case "gemma" -> GemmaForCausalLM.config(root, file);
      case "gemma2" -> Gemma2ForCausalLM.config(root, file);
      default -> throw new EngineException("Cannot load " + file + " for embeddings: model_type '"
          + type + "' is not a supported decoder embedding model; supported are "
          + String.join(", ", MODEL_TYPES) + " (BERT-style encoders load as encoders)");
    };
    boolean fusedStored = type.equals("phi3");
    DecoderModel model = Assembly.load(modelDir, c, options, (ck, manager) -> {
      ck.withoutHead();
      return LlamaFamily.build(ck, manager, c, options, fusedStored);
    });
    DecoderSpec d = model.spec();
    JsonNode archs = root.path("architectures");
    String arch = archs.isArray() && archs.size() > 0 ? archs.get(0).asText() : c.architecture();
    int pad = root.path("pad_token_id").canConvertToInt() ? root.path("pad_token_id").asInt() : 0;
    EncoderSpec spec = new EncoderSpec(arch, c.modelType(), c.hiddenSize(), c.numHiddenLayers(),
        c.numAttentionHeads(), c.maxPositionEmbeddings(), c.vocabSize(), pad, false,
        d.parameters(), d.matmulParameters(), d.computeDtype(), d.device());
    return new DecoderEmbedder(model, spec);
  }

  @Override
  public EncoderSpec spec() {
    return spec;
  }

  @Override
  public float[][] embed(List<int[]> batch, Pooling pooling, boolean normalize) {
    if (batch.isEmpty()) {
      return new float[0][];
    }
    return run(batch, (x, s, m) -> {
      NDArray pooled = pool(x, s, pooling, m); // (B, H)
      if (normalize) {
        // v / max(||v||, 1e-12), as torch.nn.functional.normalize
        pooled = pooled.div(pooled.norm(new int[] {1}, true).maximum(1e-12f));
      }
      float[] flat = toFloat(pooled).toFloatArray();
      float[][] out = new float[s.b][];
      int h = spec.hiddenSize();
      for (int i = 0; i < s.b; i++) {
        out[i] = Arrays.copyOfRange(flat, i * h, (i + 1) * h);
      }
      return out;
    });
  }

  @Override
  public float[][][] lastHiddenState(List<int[]> batch) {
    if (batch.isEmpty()) {
      return new float[0][][];
    }
    return run(batch, (x, s, m) -> {
      float[] flat = toFloat(stack.finalNorm().apply(x)).toFloatArray(); // (B, T, H)
      int h = spec.hiddenSize();
      float[][][] out = new float[s.b][][];
      for (int i = 0; i < s.b; i++) {
        out[i] = new float[s.lengths[i]][];
        for (int p = 0; p < s.lengths[i]; p++) {
          int o = (i * s.t + p) * h;
          out[i][p] = Arrays.copyOfRange(flat, o, o + h);
        }
      }
      return out;
    });
  }

  @Override
  public float[][] poolerOutput(List<int[]> batch) {
    throw new EngineException("Cannot compute pooler output: " + spec.architecture()
        + " is a decoder with no pooler; use last-token (or another) pooling");
  }

  /** What to do with the last block's output {@code x} (B, T, H), before the final norm. */
  private interface Head<R> {
    R apply(NDArray x, StepBatch s, NDManager m);
  }

  /** Validates, runs the stack over the right-padded batch, hands its output to {@code head}. */
  private <R> R run(List<int[]> batch, Head<R> head) {
    List<StepInput> inputs = inputs(batch);
    DecoderConfig c = stack.config();
    int t = batch.stream().mapToInt(a -> a.length).max().orElseThrow();
    try (NDManager m = stack.manager().newSubManager()) {
      // one layer's worth of keys/values, reused by each layer in turn: (B·Hkv·T + 1, D)
      SlotKvCache scratch = new SlotKvCache(model, m, 1, batch.size(), t, c.numKeyValueHeads(),
          c.headDim(), stack.dtype());
      StepBatch s = new StepBatch(m, inputs, t, c.numKeyValueHeads(), scratch.trashRow(),
          stack.rotary(), stack.windows(), stack.dtype());
      // token embeddings (B·T, hidden) → (B, T, hidden)
      NDArray x = stack.embedTokens().get(m, new NDIndex("{}", s.tokenIds))
          .reshape(s.b, s.t, c.hiddenSize());
      if (c.embeddingScale() != 1f) {
        x = x.muli(c.embeddingScale()); // Gemma's √hidden
      }
      if (stack.embedPositions() != null) {
        NDArray pos = m.create(Arrays.stream(s.positions).asLongStream().toArray());
        x = x.addi(stack.embedPositions().get(m, new NDIndex("{}", pos))
            .reshape(s.b, s.t, c.hiddenSize()));
      }
      // the decoder blocks, causal over each row's own positions
      for (var layer : stack.layers()) {
        x = layer.forward(x, s, scratch.keys(0), scratch.values(0), scratch.keySlots(0),
            scratch.valueSlots(0));
      }
      return head.apply(x, s, m);
    } catch (EngineException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new EngineException("Cannot embed with " + spec.architecture() + " a batch of "
          + batch.size() + ": " + e, e);
    }
  }

  /** One fresh sequence per row (slot i, positions from 0), checked against the model. */
  private List<StepInput> inputs(List<int[]> batch) {
    List<StepInput> inputs = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      int[] r = batch.get(i);
      if (r == null || r.length == 0) {
        throw new EngineException("Cannot embed an empty token sequence (input " + i + "): every"
            + " input needs at least one token");
      }
      if (r.length > spec.maxPositions()) {
        throw new EngineException("Cannot embed a sequence of " + r.length + " tokens (input " + i
            + "): " + spec.architecture() + " allows at most " + spec.maxPositions()
            + " (max_position_embeddings); truncate first");
      }
      for (int p = 0; p < r.length; p++) {
        if (r[p] < 0 || r[p] >= spec.vocabSize()) {
          throw new EngineException("Cannot embed token id " + r[p] + " at position " + p
              + " of input " + i + ": outside the vocabulary 0.." + (spec.vocabSize() - 1));
        }
      }
      inputs.add(new StepInput(i, 0, r));
    }
    return inputs;
  }

  /** (B, T, H) pre-norm → (B, H) pooled over each row's real tokens after the final norm. */
  private NDArray pool(NDArray x, StepBatch s, Pooling pooling, NDManager m) {
    int h = spec.hiddenSize();
    return switch (pooling) {
      // only the pooled rows need the final norm
      case LASTTOKEN -> stack.finalNorm().apply(x.reshape((long) s.b * s.t, h)
          .get(m, new NDIndex("{}", s.lastRows))); // (B, H)
      case CLS -> stack.finalNorm().apply(x.get(":, 0, :")); // the first token: (B, H)
      case MEAN, MAX -> {
        NDArray normed = stack.finalNorm().apply(x); // (B, T, H)
        // (B, T, 1): 1 at real tokens
        NDArray mask = realMask(s, m).toType(normed.getDataType(), false).expandDims(2);
        yield pooling == Pooling.MEAN
            ? normed.mul(mask).sum(new int[] {1}).div(mask.sum(new int[] {1}))
            : normed.add(mask.neg().add(1).mul(-1e9f)).max(new int[] {1}); // pads at -1e9
      }
    };
  }

  /** (B, T) 1 at real tokens, 0 at padding. */
  private static NDArray realMask(StepBatch s, NDManager m) {
    float[] mask = new float[s.b * s.t];
    for (int i = 0; i < s.b; i++) {
      Arrays.fill(mask, i * s.t, i * s.t + s.lengths[i], 1f);
    }
    return m.create(mask, new Shape(s.b, s.t));
  }

  private static NDArray toFloat(NDArray a) {
    return a.getDataType() == DataType.FLOAT32 ? a : a.toType(DataType.FLOAT32, false);
  }

  @Override
  public void close() {
    model.close();
  }
}
