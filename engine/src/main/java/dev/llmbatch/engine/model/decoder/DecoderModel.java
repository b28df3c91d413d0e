package dev.llmbatch.engine.model.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.DecoderSpec;
import dev.llmbatch.engine.model.KvCache;
import dev.llmbatch.engine.model.StepInput;
import dev.llmbatch.engine.model.layers.DecoderConfig;
import dev.llmbatch.engine.model.layers.DecoderLayer;
import dev.llmbatch.engine.model.layers.LayerNorm;
import dev.llmbatch.engine.model.layers.Linear;
import dev.llmbatch.engine.model.layers.Norm;
import dev.llmbatch.engine.model.layers.RotaryEmbedding;
import dev.llmbatch.engine.model.layers.PackedStep;
import dev.llmbatch.engine.model.layers.RmsNorm;
import dev.llmbatch.engine.runtime.CpuKernels;
import dev.llmbatch.engine.runtime.PackedGemm;
import dev.llmbatch.engine.runtime.TorchRuntime;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A decoder-only LM assembled from the shared layers: embeddings (× scale, + learned positions),
 * the pre-norm blocks, the final norm and the LM head (optionally soft-capped). Every architecture
 * builds one of these; none overrides {@link #step}.
 */
public final class DecoderModel implements CausalLm {
  private static final Logger LOG = LoggerFactory.getLogger(DecoderModel.class);
  private final DecoderConfig config;
  private final NDManager manager;
  private final NDArray embedTokens; // (V, hidden), or null: the tied, packed LM head serves
  private final NDArray embedPositions; // (maxPos, hidden) or null
  private final DecoderLayer[] layers;
  private final Norm finalNorm;
  private final Linear lmHead; // (V, hidden)
  private final RotaryEmbedding rotary; // or null
  private final DataType dtype;
  private final int[] windows; // distinct per-layer windows
  private final DecoderSpec spec;
  private final CpuKernels.Stack stack; // the layers as one native call a step, or null
  private final boolean fusedKernels; // CpuKernels serve this model's steps (CPU, float32)
  private final boolean gatherNatively; // embedTokens' rows by CpuKernels.rows
  private final boolean direct; // CPU steps over buffers the stepping thread keeps (stepDirect)
  private final PackedGemm head; // the LM head's packed weight where steps are direct, else null
  private final ByteBuffer embedView; // embedTokens' data, for stepDirect's gather (or null)
  private final ThreadLocal<StepBuffers> buffers = ThreadLocal.withInitial(StepBuffers::new);
  /** Embedding tables copied off their file mapping onto the heap (for tests). */
  private static final AtomicLong TABLES_COPIED = new AtomicLong();

  /**
   * {@code tied}: the LM head's weight is {@code embedTokens}. Where that head was packed (the
   * engine's GEMM on the CPU, {@link Linear#servesRows}), the table was freed with it and token
   * embeddings are read from the packed copy: the model holds the table once.
   */
  DecoderModel(DecoderConfig config, NDManager manager, NDArray embedTokens, boolean embedMapped,
      NDArray embedPositions, DecoderLayer[] layers, Norm finalNorm, Linear lmHead,
      boolean tied, RotaryEmbedding rotary, DecoderSpec spec) {
    this.config = config;
    this.manager = manager;
    boolean fromHead = tied && lmHead != null && lmHead.servesRows();
    NDArray table = fromHead ? null : embedTokens;
    this.dtype = fromHead ? DataType.FLOAT32 : embedTokens.getDataType();
    this.embedPositions = embedPositions;
    this.layers = layers;
    this.finalNorm = finalNorm;
    this.lmHead = lmHead;
    this.rotary = rotary;
    this.windows = Arrays.stream(config.slidingWindow()).distinct().toArray();
    this.spec = spec;
    this.stack = buildStack();
    this.fusedKernels = fromHead ? CpuKernels.available() : CpuKernels.serves(table);
    boolean gathers = table != null && CpuKernels.gathers(table);
    // every part of a step runs natively over plain buffers: the gather (from the table, or the
    // tied head's packed copy), the layer stack, the packed LM head; models that scale or add to
    // the embeddings or cap the logits take the array path
    PackedGemm packedHead = lmHead == null ? null : lmHead.packed();
    this.direct = stack != null && fusedKernels && CpuKernels.directSteps()
        && (gathers || (fromHead && PackedGemm.gathersRows())) && packedHead != null
        && packedHead.swiGluSplit() == 0 && embedPositions == null
        && config.embeddingScale() == 1f && config.finalLogitSoftcap() <= 0;
    this.head = direct ? packedHead : null;
    if (gathers && !tied && embedMapped) {
      // a float32 checkpoint's table is read in place from its file mapping, on 4 KiB pages whose
      // translations a decode step finds as cold as the rows (the weights streamed between): 32
      // scattered rows took ~0.4 ms that way against ~0.06 ms from a copy on the heap's huge
      // pages (docs/benchmarks.md, session 20). The copy replaces it: one host copy still. (A
      // BF16 checkpoint's table was widened onto the heap as it loaded: copying it again only
      // doubled the table's memory for a moment.)
      NDArray copy = table.duplicate();
      table.close();
      table = copy;
      TABLES_COPIED.incrementAndGet();
    }
    this.embedTokens = table;
    this.gatherNatively = gathers;
    this.embedView = direct && gathers ? CpuKernels.view(table) : null;
    if (direct) {
      LOG.info("{}: its CPU steps make no libtorch array (token ids, embeddings, cos/sin and logits"
          + " in buffers the stepping thread keeps; LLM_BATCH_DIRECT_STEP=0 makes them)",
          config.architecture());
    }
  }

  /**
   * The layers as {@link CpuKernels.Stack}, where every block is one it runs (Llama, Mistral,
   * Qwen2, Qwen3, Phi-3, Gemma, Gemma 2, GPT-2 on the CPU in float32, packed) and it is not turned
   * off; else null, and steps run layer by layer.
   */
  private CpuKernels.Stack buildStack() {
    if (!(finalNorm instanceof RmsNorm || finalNorm instanceof LayerNorm)
        || dtype != DataType.FLOAT32 || !CpuKernels.Stack.runsHere()) {
      return null; // (before stackLayer, which packs a layer's small projections for the stack)
    }
    List<CpuKernels.StackLayer> blocks = new ArrayList<>(layers.length);
    for (DecoderLayer layer : layers) {
      CpuKernels.StackLayer b = layer.stackLayer();
      if (b == null) {
        return null;
      }
      blocks.add(b);
    }
    CpuKernels.Stack s = CpuKernels.Stack.of(blocks, finalNorm.weight(), finalNorm.bias(),
        finalNorm.eps(), config.hiddenSize());
    if (s != null) {
      LOG.info("{}: its {} layers run as one native call a step (LLM_BATCH_NATIVE_STACK=0 runs"
          + " them op by op)", config.architecture(), layers.length);
    }
    return s;
  }

  /**
   * Whether CPU steps run with no libtorch array made (the gather, the layer stack and the packed
   * LM head over buffers the stepping thread keeps; {@code LLM_BATCH_DIRECT_STEP=0} turns it off).
   */
  public boolean runsDirectSteps() {
    return direct;
  }

  /** Embedding tables copied off a checkpoint's file mapping onto the heap so far (tests). */
  static long tablesCopied() {
    return TABLES_COPIED.get();
  }

  /** Whether steps run the layers as one native call ({@link CpuKernels.Stack}). */
  public boolean runsNativeStack() {
    return stack != null;
  }

  /** The stack without the LM head, for {@link DecoderEmbedder}. */
  DecoderStack stack() {
    if (embedTokens == null) {
      throw new IllegalStateException("this model's embedding table lives in its packed LM head;"
          + " an embedder loads its own (headless) copy");
    }
    return new DecoderStack(config, manager, embedTokens, embedPositions, layers, finalNorm, rotary,
        windows, dtype);
  }

  /** Whether token embeddings are read from the packed, tied LM head (the table held once). */
  boolean embedsFromHead() {
    return embedTokens == null;
  }

  /** The settled configuration. */
  public DecoderConfig config() {
    return config;
  }

  @Override
  public DecoderSpec spec() {
    return spec;
  }

  @Override
  public KvCache allocateCache(int slots, int capacity) {
    if (slots <= 0 || capacity <= 0) {
      throw new EngineException("Invalid KV cache size: slots=" + slots + ", capacity=" + capacity
          + " (both must be positive)");
    }
    SlotKvCache cache = new SlotKvCache(this, manager, layers.length, slots, capacity,
        config.numKeyValueHeads(), config.headDim(), dtype);
    if (!cache.nativeReadable() && fusedKernels) {
      LOG.warn("{}: a KV cache of {} slots x {} tokens takes {} MB a layer, more than one Java"
          + " buffer spans (2 GiB): its attention runs on libtorch's ops, layer by layer (slower);"
          + " fewer slots or a shorter context keep the fused CPU kernels", config.architecture(),
          slots, capacity, cache.bytes() / 2 / layers.length >> 20);
    }
    return cache;
  }

  @Override
  public float[][] step(KvCache kvCache, List<StepInput> inputs) {
    return step(kvCache, inputs, null);
  }

  @Override
  public float[][] step(KvCache kvCache, List<StepInput> inputs, float[][] rows) {
    SlotKvCache cache = check(kvCache, inputs);
    if (rows != null) {
      checkRows(rows, inputs.size());
    }
    if (direct && cache.nativeReadable()) {
      return stepDirect(cache, inputs, rows);
    }
    try (NDManager m = manager.newSubManager()) {
      // all new tokens packed without padding: (1, N, hidden); see PackedStep
      PackedStep s = new PackedStep(m, inputs, cache.capacity(), cache.kvHeads(),
          cache.trashRow(), rotary, windows, dtype,
          fusedKernels && cache.nativeReadable());
      NDArray x = (embedTokens == null ? lmHead.rows(s.tokenIds, m)
          : gatherNatively ? CpuKernels.rows(embedTokens, s.tokenIds, m)
          : embedTokens.get(m, new NDIndex("{}", s.tokenIds)))
          .reshape(1, s.tokens, config.hiddenSize());
      if (config.embeddingScale() != 1f) {
        // Gemma: the normalizer √hidden is rounded to the compute dtype first, as in HF
        x = x.muli(config.embeddingScale());
      }
      if (embedPositions != null) {
        NDArray pos = m.create(Arrays.stream(s.positions).asLongStream().toArray());
        x = x.addi(embedPositions.get(m, new NDIndex("{}", pos))
            .reshape(1, s.tokens, config.hiddenSize()));
      }
      NDArray normed; // each input's last new token after the final norm: (inputs, hidden)
      if (stack != null && s.fused) { // the blocks and the final norm in one native call
        normed = m.create(new Shape(inputs.size(), config.hiddenSize()), DataType.FLOAT32);
        stack.step(x, s.cos, s.sinSigned, cache.stackViews(), cache.capacity(), s.sequences,
            normed);
      } else {
        for (int i = 0; i < layers.length; i++) {
          x = layers[i].forward(x, s, cache.keys(i), cache.values(i), cache.keySlots(i),
              cache.valueSlots(i));
        }
        // only each input's last new token reaches the norm and the LM head, in input order;
        // placeholder rows are dropped here
        NDArray last = x.reshape(s.tokens, config.hiddenSize());
        if (!s.lastRowsAreAll) { // a decode step's rows already are (no gather)
          last = last.get(m, new NDIndex("{}", s.lastRows()));
        }
        normed = finalNorm.apply(last);
      }
      NDArray logits = lmHead.apply(normed); // (B, V)
      if (config.finalLogitSoftcap() > 0) {
        float c = config.finalLogitSoftcap();
        logits = CpuKernels.serves(logits) ? CpuKernels.softcapInPlace(logits, c)
            : logits.divi(c).tanh().muli(c);
      }
      if (logits.getDataType() != DataType.FLOAT32) {
        logits = logits.toType(DataType.FLOAT32, false);
      }
      return TorchRuntime.floatRows(logits,
          rows != null ? rows : new float[inputs.size()][config.vocabSize()]);
    } catch (EngineException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new EngineException("Cannot run a forward step of " + config.architecture() + " over "
          + inputs.size() + " sequence(s): " + e, e);
    }
  }

  /**
   * {@link #step} where every part runs natively ({@link #direct}): the same kernels in the same
   * order over buffers this thread keeps, so no libtorch array is made. Each array a step made
   * (token ids, embeddings, cos/sin, the normed rows, the logits, the step's manager) cost ~60 µs
   * once a 100M model's weights had streamed through the caches since the last step: serial work
   * on which the other threads waited, 0.5–1 ms of a 32-row step (docs/benchmarks.md, session 20).
   */
  private float[][] stepDirect(SlotKvCache cache, List<StepInput> inputs, float[][] rows) {
    try {
      int b = inputs.size();
      int n = 0;
      for (StepInput in : inputs) {
        n += in.tokens().length;
      }
      int hidden = config.hiddenSize();
      int vocab = config.vocabSize();
      int rot = rotary == null ? 0 : rotary.config().rotaryDim();
      StepBuffers buf = buffers.get().fit(n, hidden, rot, b, vocab);
      // every input one packed row, in input order (as PackedStep packs a fused step)
      int[] positions = new int[n];
      int maxL = 0;
      int p = 0;
      for (StepInput in : inputs) {
        maxL = Math.max(maxL, in.startPos() + in.tokens().length);
        for (int j = 0; j < in.tokens().length; j++, p++) {
          buf.ids.putLong(p * Long.BYTES, in.tokens()[j]);
          positions[p] = in.startPos() + j;
        }
      }
      int bad = embedView != null
          ? CpuKernels.gatherInto(embedView, vocab, hidden, buf.ids, n, buf.x)
          : head.rowsInto(buf.ids, n, buf.x);
      if (bad >= 0) {
        throw new IllegalArgumentException("id " + buf.ids.getLong(bad * Long.BYTES)
            + " is outside the " + (embedView != null ? "table's " : "packed weight's ") + vocab
            + " rows");
      }
      if (rot > 0) {
        rotary.cosSinInto(positions, maxL, buf.cos.asFloatBuffer(), buf.sin.asFloatBuffer());
      }
      stack.step(buf.x, n, rot > 0 ? buf.cos : null, rot > 0 ? buf.sin : null, rot,
          cache.stackViews(), cache.capacity(),
          PackedStep.sequences(inputs, cache.capacity(), cache.kvHeads()), buf.normed);
      head.applyInto(buf.normed, b, buf.logits);
      float[][] out = rows != null ? rows : new float[b][vocab];
      FloatBuffer logits = buf.logits.asFloatBuffer();
      for (float[] row : out) {
        logits.get(row);
      }
      return out;
    } catch (EngineException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new EngineException("Cannot run a forward step of " + config.architecture() + " over "
          + inputs.size() + " sequence(s): " + e, e);
    }
  }

  /**
   * A stepping thread's buffers for {@link #stepDirect} (direct, native order), grown to the
   * largest step it has run and kept: token ids, embeddings, cos/sin, the normed last rows, the
   * logits.
   */
  private static final class StepBuffers {
    private ByteBuffer ids = allocate(0);
    private ByteBuffer x = ids;
    private ByteBuffer cos = ids;
    private ByteBuffer sin = ids;
    private ByteBuffer normed = ids;
    private ByteBuffer logits = ids;

    StepBuffers fit(int tokens, int hidden, int rot, int seqs, int vocab) {
      ids = atLeast(ids, (long) tokens * Long.BYTES);
      x = atLeast(x, (long) tokens * hidden * Float.BYTES);
      cos = atLeast(cos, (long) tokens * rot * Float.BYTES);
      sin = atLeast(sin, (long) tokens * rot * Float.BYTES);
      normed = atLeast(normed, (long) seqs * hidden * Float.BYTES);
      logits = atLeast(logits, (long) seqs * vocab * Float.BYTES);
      return this;
    }

    private static ByteBuffer atLeast(ByteBuffer b, long bytes) {
      if (b.capacity() >= bytes) {
        return b;
      }
      // grow by half again at least, so a lengthening prefill does not reallocate every step
      return allocate(Math.max(bytes, Math.min(Integer.MAX_VALUE, b.capacity() * 3L / 2)));
    }

    private static ByteBuffer allocate(long bytes) {
      if (bytes > Integer.MAX_VALUE) {
        throw new EngineException("A step needs a " + (bytes >> 20) + " MB buffer, more than one"
            + " Java buffer spans (2 GiB): fewer sequences or shorter chunks a step");
      }
      return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
    }
  }

  private void checkRows(float[][] rows, int inputs) {
    if (rows.length != inputs) {
      throw new IllegalArgumentException("Cannot step " + inputs + " input(s) into "
          + rows.length + " logit rows");
    }
    for (int i = 0; i < rows.length; i++) {
      if (rows[i] == null || rows[i].length != config.vocabSize()) {
        throw new IllegalArgumentException("Cannot step into logit row " + i + ": it must be a"
            + " float[" + config.vocabSize() + "], not "
            + (rows[i] == null ? "null" : "a float[" + rows[i].length + "]"));
      }
    }
  }

  private SlotKvCache check(KvCache kvCache, List<StepInput> inputs) {
    if (!(kvCache instanceof SlotKvCache cache) || cache.owner() != this) {
      throw new EngineException("Cannot step " + config.architecture()
          + ": the KV cache was not allocated by this model (use allocateCache)");
    }
    if (!cache.isOpen()) {
      throw new EngineException("Cannot step " + config.architecture()
          + ": the KV cache was closed");
    }
    if (inputs == null || inputs.isEmpty()) {
      throw new EngineException("Cannot step " + config.architecture() + ": no inputs");
    }
    boolean[] seen = new boolean[cache.slots()];
    for (int i = 0; i < inputs.size(); i++) {
      StepInput in = inputs.get(i);
      if (in.slot() >= cache.slots()) {
        throw new EngineException("Cannot step input " + i + ": slot " + in.slot()
            + " is outside the cache's " + cache.slots() + " slots");
      }
      if (seen[in.slot()]) {
        throw new EngineException("Cannot step input " + i + ": slot " + in.slot()
            + " appears twice in one step");
      }
      seen[in.slot()] = true;
      int end = in.startPos() + in.tokens().length;
      if (end > cache.capacity()) {
        throw new EngineException("Cannot step input " + i + ": positions " + in.startPos() + ".."
            + (end - 1) + " exceed the KV cache capacity " + cache.capacity() + " of slot "
            + in.slot());
      }
      if (embedPositions != null && end > config.maxPositionEmbeddings()) {
        throw new EngineException("Cannot step input " + i + ": position " + (end - 1)
            + " exceeds the learned positions (max_position_embeddings="
            + config.maxPositionEmbeddings() + ")");
      }
      for (int tok : in.tokens()) {
        if (tok < 0 || tok >= config.vocabSize()) {
          throw new EngineException("Cannot step input " + i + ": token id " + tok
              + " is outside the vocabulary [0, " + config.vocabSize() + ")");
        }
      }
    }
    return (SlotKvCache) kvCache;
  }

  @Override
  public void close() {
    if (stack != null) {
      stack.close(); // before the weights it points at
    }
    manager.close();
  }
}
