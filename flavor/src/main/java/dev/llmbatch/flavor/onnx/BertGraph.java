package dev.llmbatch.flavor.onnx;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.NodeProto;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.TensorProto;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Recovers a Hugging Face {@code BertModel} (weights with HF names, and its config.json values) from
 * a PyTorch-exported ONNX graph. Exporters keep HF names for embeddings, LayerNorms and biases but
 * store each linear weight as an anonymous {@code onnx::MatMul_N} initializer, transposed to
 * {@code (in, out)}, feeding a MatMul whose output is added to the HF-named bias: the weight's name
 * follows from that bias, and it is transposed back to PyTorch's {@code (out, in)}.
 */
final class BertGraph {
  private static final Pattern LAYER = Pattern.compile("^encoder\\.layer\\.(\\d+)\\.");
  /** Per-layer tensors a BertModel layer must have, relative to {@code encoder.layer.N.}. */
  static final List<String> LAYER_TENSORS = List.of(
      "attention.self.query.weight", "attention.self.query.bias",
      "attention.self.key.weight", "attention.self.key.bias",
      "attention.self.value.weight", "attention.self.value.bias",
      "attention.output.dense.weight", "attention.output.dense.bias",
      "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
      "intermediate.dense.weight", "intermediate.dense.bias",
      "output.dense.weight", "output.dense.bias",
      "output.LayerNorm.weight", "output.LayerNorm.bias");

  /** A float32 tensor with its PyTorch shape. */
  record Tensor(long[] shape, float[] values) {}

  private final OnnxGraph g;
  private final Map<String, Tensor> tensors = new LinkedHashMap<>();

  private BertGraph(OnnxGraph g) {
    this.g = g;
  }

  /** Names every weight of {@code g} and reconstructs the config. */
  static Imported analyse(OnnxGraph g) {
    BertGraph b = new BertGraph(g);
    b.nameTensors();
    Map<String, Object> config = b.config();
    return new Imported(b.tensors, config);
  }

  /**
   * The result: HF-named tensors and config.json values.
   *
   * @param tensors PyTorch-layout float32 tensors keyed by HF {@code BertModel} name, sorted
   * @param config config.json keys and values in HF's order
   */
  record Imported(Map<String, Tensor> tensors, Map<String, Object> config) {}

  private void nameTensors() {
    Set<String> anonymous = new TreeSet<>();
    for (TensorProto t : g.initializers().values()) {
      if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
        continue; // integer buffers (embeddings.position_ids) are not weights
      }
      if (isHfName(t.getName())) {
        tensors.put(t.getName(), new Tensor(OnnxGraph.dims(t), g.floats(t)));
      } else {
        anonymous.add(t.getName());
      }
    }
    Set<String> resolved = new HashSet<>();
    for (NodeProto n : g.nodes()) {
      if (n.getOpType().equals("MatMul") && n.getInputCount() == 2
          && anonymous.contains(n.getInput(1))) {
        String bias = biasAfter(n.getOutput(0)).orElseThrow(() -> new FlavorException(
            "Cannot import ONNX model " + g.source() + ": weight '" + n.getInput(1) + "' feeds"
                + " MatMul '" + n.getName() + "', whose output is not added to a named '.bias'"
                + " initializer, so its Hugging Face name cannot be recovered"));
        put(bias, transpose(g.initializers().get(n.getInput(1))));
        resolved.add(n.getInput(1));
      } else if (n.getOpType().equals("Gemm") && n.getInputCount() == 3
          && anonymous.contains(n.getInput(1)) && isHfName(n.getInput(2))) {
        TensorProto w = g.initializers().get(n.getInput(1));
        boolean transB = n.getAttributeList().stream()
            .anyMatch(a -> a.getName().equals("transB") && a.getI() == 1);
        put(n.getInput(2), transB ? new Tensor(OnnxGraph.dims(w), g.floats(w)) : transpose(w));
        resolved.add(n.getInput(1));
      }
    }
    anonymous.removeAll(resolved);
    if (!anonymous.isEmpty()) {
      throw new FlavorException("Cannot import ONNX model " + g.source() + ": "
          + anonymous.size() + " float initializer(s) have no Hugging Face name and feed no"
          + " MatMul followed by a named bias, e.g. '" + anonymous.iterator().next()
          + "'; only PyTorch exports of BertModel are supported");
    }
  }

  private void put(String biasName, Tensor weight) {
    String name = biasName.substring(0, biasName.length() - "bias".length()) + "weight";
    if (tensors.containsKey(name)) {
      throw new FlavorException("Cannot import ONNX model " + g.source() + ": two weights map to '"
          + name + "'");
    }
    tensors.put(name, weight);
  }

  /** The HF-named bias added to {@code value}, following an Add node. */
  private Optional<String> biasAfter(String value) {
    for (NodeProto c : g.consumers(value)) {
      if (c.getOpType().equals("Add")) {
        for (String in : c.getInputList()) {
          if (!in.equals(value) && in.endsWith(".bias") && g.initializers().containsKey(in)) {
            return Optional.of(in);
          }
        }
      }
    }
    return Optional.empty();
  }

  private static boolean isHfName(String name) {
    return name.startsWith("embeddings.") || name.startsWith("encoder.")
        || name.startsWith("pooler.");
  }

  /** (in, out) as stored for MatMul -> PyTorch's (out, in). */
  private Tensor transpose(TensorProto t) {
    long[] d = OnnxGraph.dims(t);
    if (d.length != 2) {
      throw new FlavorException("Cannot import ONNX model " + g.source() + ": MatMul weight '"
          + t.getName() + "' has shape " + t.getDimsList() + ", expected 2 dimensions");
    }
    int rows = (int) d[0];
    int cols = (int) d[1];
    float[] in = g.floats(t);
    float[] out = new float[in.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        out[c * rows + r] = in[r * cols + c];
      }
    }
    return new Tensor(new long[] {cols, rows}, out);
  }

  private Tensor require(String name) {
    Tensor t = tensors.get(name);
    if (t == null) {
      throw new FlavorException("Cannot import ONNX model " + g.source() + ": tensor '" + name
          + "' is missing; is this an ONNX export of a Hugging Face BertModel?");
    }
    return t;
  }

  private Map<String, Object> config() {
    Tensor word = require("embeddings.word_embeddings.weight");
    Tensor pos = require("embeddings.position_embeddings.weight");
    require("embeddings.LayerNorm.weight");
    int hidden = (int) word.shape()[1];
    int layers = 0;
    for (String name : tensors.keySet()) {
      Matcher m = LAYER.matcher(name);
      if (m.find()) {
        layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
      }
    }
    if (layers == 0) {
      throw new FlavorException("Cannot import ONNX model " + g.source()
          + ": no 'encoder.layer.N.' tensors found; is this a BertModel export?");
    }
    for (int i = 0; i < layers; i++) {
      for (String t : LAYER_TENSORS) {
        require("encoder.layer." + i + "." + t);
      }
    }
    int intermediate = (int) require("encoder.layer.0.intermediate.dense.bias").shape()[0];
    int heads = heads(hidden);
    Tensor types = tensors.get("embeddings.token_type_embeddings.weight");
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("architectures", List.of("BertModel"));
    c.put("attention_probs_dropout_prob", 0.1);
    c.put("classifier_dropout", null);
    c.put("hidden_act", activation());
    c.put("hidden_dropout_prob", 0.1);
    c.put("hidden_size", hidden);
    c.put("initializer_range", 0.02);
    c.put("intermediate_size", intermediate);
    c.put("layer_norm_eps", eps());
    c.put("max_position_embeddings", (int) pos.shape()[0]);
    c.put("model_type", "bert");
    c.put("num_attention_heads", heads);
    c.put("num_hidden_layers", layers);
    c.put("pad_token_id", 0);
    c.put("position_embedding_type", "absolute");
    c.put("torch_dtype", "float32");
    c.put("type_vocab_size", types == null ? 0 : (int) types.shape()[0]);
    c.put("use_cache", true);
    c.put("vocab_size", (int) word.shape()[0]);
    return c;
  }

  /** Heads from the constant shape of the Reshape that splits layer 0's query into heads. */
  private int heads(int hidden) {
    String queryOut = null;
    for (NodeProto n : g.nodes()) {
      if (n.getOpType().equals("Add")
          && n.getInputList().contains("encoder.layer.0.attention.self.query.bias")) {
        queryOut = n.getOutput(0);
      }
    }
    if (queryOut != null) {
      for (NodeProto r : g.consumers(queryOut)) {
        if (r.getOpType().equals("Reshape") && r.getInputCount() == 2) {
          List<Long> shape = shapeConstants(r.getInput(1));
          if (shape.size() >= 2) {
            long nh = shape.get(shape.size() - 2);
            long d = shape.get(shape.size() - 1);
            if (nh > 0 && d > 0 && nh * d == hidden) {
              return (int) nh;
            }
          }
        }
      }
    }
    throw new FlavorException("Cannot import ONNX model " + g.source() + ": the number of attention"
        + " heads cannot be found (no Reshape of layer 0's query to constant (heads, head_dim)"
        + " with heads × head_dim = " + hidden + ")");
  }

  /** The constant parts of a shape value: a constant tensor, or a Concat of constants. */
  private List<Long> shapeConstants(String value) {
    List<Long> out = new ArrayList<>();
    Optional<TensorProto> c = g.constant(value);
    if (c.isPresent()) {
      for (long v : g.longs(c.get())) {
        out.add(v);
      }
      return out;
    }
    Optional<NodeProto> concat = g.producer(value).filter(n -> n.getOpType().equals("Concat"));
    if (concat.isPresent()) {
      for (String in : concat.get().getInputList()) {
        Optional<TensorProto> part = g.constant(in);
        if (part.isPresent()) {
          for (long v : g.longs(part.get())) {
            out.add(v);
          }
        } else {
          out.add(-1L);
        }
      }
    }
    return out;
  }

  /** layer_norm_eps: a LayerNormalization attribute, or the constant added to the variance. */
  private double eps() {
    Set<Float> found = new TreeSet<>();
    for (NodeProto n : g.nodes()) {
      if (n.getOpType().equals("LayerNormalization")) {
        found.add(OnnxGraph.floatAttr(n, "epsilon").orElse(1e-5f));
      }
      if (n.getOpType().equals("Sqrt")) {
        // decomposed: Sqrt(Add(ReduceMean(Pow(x - mean, 2)), eps))
        g.producer(n.getInput(0)).filter(a -> a.getOpType().equals("Add")).ifPresent(a -> {
          boolean fromVariance = a.getInputList().stream().anyMatch(in -> g.producer(in)
              .map(p -> p.getOpType().equals("ReduceMean")).orElse(false));
          for (String in : a.getInputList()) {
            g.constant(in).filter(t -> fromVariance && OnnxGraph.numel(t) == 1)
                .ifPresent(t -> found.add(g.floats(t)[0]));
          }
        });
      }
    }
    if (found.size() != 1) {
      throw new FlavorException("Cannot import ONNX model " + g.source() + ": expected one"
          + " LayerNorm epsilon in the graph, found " + found);
    }
    // the exact float32 value, printed as the shortest decimal that round-trips (1e-12, not 9.99…e-13)
    return Double.parseDouble(Float.toString(found.iterator().next()));
  }

  private String activation() {
    for (NodeProto n : g.nodes()) {
      if (n.getOpType().equals("Erf")) {
        return "gelu";
      }
      if (n.getOpType().equals("Gelu")) {
        boolean tanh = n.getAttributeList().stream().anyMatch(a -> a.getName().equals("approximate")
            && a.getS().toStringUtf8().equals("tanh"));
        return tanh ? "gelu_pytorch_tanh" : "gelu";
      }
    }
    throw new FlavorException("Cannot import ONNX model " + g.source() + ": no Erf or Gelu node,"
        + " so the activation is not BERT's GELU; only GELU encoders are supported");
  }
}
