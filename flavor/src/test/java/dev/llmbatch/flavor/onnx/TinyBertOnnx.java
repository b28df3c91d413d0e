package dev.llmbatch.flavor.onnx;

import com.google.protobuf.ByteString;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.AttributeProto;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.GraphProto;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.ModelProto;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.NodeProto;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.TensorProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Builds a small ONNX graph shaped like a PyTorch export of BertModel: HF-named embeddings,
 * LayerNorms and biases; anonymous {@code onnx::MatMul_N} weights stored (in, out) feeding MatMul
 * then Add(bias); the query Reshape to constant (heads, head_dim); LayerNorm decomposed with its
 * epsilon as an Add constant; Erf GELU. Only the structure the importer reads is present.
 */
final class TinyBertOnnx {
  static final int HIDDEN = 8;
  static final int HEADS = 2;
  static final int INTER = 16;
  static final int VOCAB = 12;
  static final int POSITIONS = 10;
  static final int LAYERS = 2;
  static final float EPS = 1e-12f;

  /** The (out, in) PyTorch weights by HF name, as the importer must recover them. */
  final Map<String, float[][]> linearWeights = new LinkedHashMap<>();
  private final GraphProto.Builder g = GraphProto.newBuilder().setName("main_graph");
  private final Random rnd = new Random(7);
  private int anon = 100;
  private int nodes;

  static ModelProto build(boolean withBiasAdds) {
    return new TinyBertOnnx().model(withBiasAdds);
  }

  ModelProto model(boolean withBiasAdds) {
    named("embeddings.word_embeddings.weight", VOCAB, HIDDEN);
    named("embeddings.position_embeddings.weight", POSITIONS, HIDDEN);
    named("embeddings.token_type_embeddings.weight", 2, HIDDEN);
    String x = layerNorm("embeddings.LayerNorm", "emb_sum");
    for (int l = 0; l < LAYERS; l++) {
      String p = "encoder.layer." + l + ".";
      String q = linear(p + "attention.self.query", x, HIDDEN, HIDDEN, withBiasAdds);
      linear(p + "attention.self.key", x, HIDDEN, HIDDEN, true);
      linear(p + "attention.self.value", x, HIDDEN, HIDDEN, true);
      // Reshape(query, Concat(batch, seq, heads, head_dim))
      String shape = node("Concat", new String[] {"dyn_b", "dyn_t", constLong(HEADS),
          constLong(HIDDEN / HEADS)}, null);
      node("Reshape", new String[] {q, shape}, null);
      String o = linear(p + "attention.output.dense", "ctx" + l, HIDDEN, HIDDEN, true);
      String a = layerNorm(p + "attention.output.LayerNorm", o);
      String i = linear(p + "intermediate.dense", a, HIDDEN, INTER, true);
      String act = node("Erf", new String[] {i}, null);
      String out = linear(p + "output.dense", act, INTER, HIDDEN, true);
      x = layerNorm(p + "output.LayerNorm", out);
    }
    return ModelProto.newBuilder().setIrVersion(6).setProducerName("pytorch")
        .setProducerVersion("2.0.1").setGraph(g).build();
  }

  private String linear(String name, String input, int in, int out, boolean withBiasAdd) {
    float[][] w = new float[out][in];
    float[] stored = new float[in * out]; // (in, out) row-major, as exporters store it
    for (int o = 0; o < out; o++) {
      for (int i = 0; i < in; i++) {
        w[o][i] = rnd.nextFloat() - 0.5f;
        stored[i * out + o] = w[o][i];
      }
    }
    linearWeights.put(name + ".weight", w);
    String wName = "onnx::MatMul_" + anon++;
    g.addInitializer(tensor(wName, stored, in, out));
    named(name + ".bias", out);
    String mm = node("MatMul", new String[] {input, wName}, null);
    return withBiasAdd ? node("Add", new String[] {name + ".bias", mm}, null) : mm;
  }

  private String layerNorm(String name, String input) {
    named(name + ".weight", HIDDEN);
    named(name + ".bias", HIDDEN);
    String mean = node("ReduceMean", new String[] {input}, null);
    String sub = node("Sub", new String[] {input, mean}, null);
    String pow = node("Pow", new String[] {sub, constFloat(2f)}, null);
    String var = node("ReduceMean", new String[] {pow}, null);
    String add = node("Add", new String[] {var, constFloat(EPS)}, null);
    String sqrt = node("Sqrt", new String[] {add}, null);
    String div = node("Div", new String[] {sub, sqrt}, null);
    String mul = node("Mul", new String[] {div, name + ".weight"}, null);
    return node("Add", new String[] {mul, name + ".bias"}, null);
  }

  private void named(String name, int... dims) {
    int n = 1;
    for (int d : dims) {
      n *= d;
    }
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = rnd.nextFloat();
    }
    g.addInitializer(tensor(name, v, dims));
  }

  private String constFloat(float v) {
    TensorProto t = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE)
        .setRawData(ByteString.copyFrom(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
            .putFloat(v).array())).build();
    return node("Constant", new String[0], t);
  }

  private String constLong(long v) {
    TensorProto t = TensorProto.newBuilder().setDataType(TensorProto.DataType.INT64_VALUE)
        .addDims(1).setRawData(ByteString.copyFrom(ByteBuffer.allocate(8)
            .order(ByteOrder.LITTLE_ENDIAN).putLong(v).array())).build();
    return node("Constant", new String[0], t);
  }

  private String node(String op, String[] inputs, TensorProto value) {
    String out = "/" + op + "_" + nodes++ + "_output_0";
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName("/" + op + "_" + nodes)
        .addOutput(out);
    for (String in : inputs) {
      n.addInput(in);
    }
    if (value != null) {
      n.addAttribute(AttributeProto.newBuilder().setName("value")
          .setType(AttributeProto.AttributeType.TENSOR).setT(value));
    }
    g.addNode(n);
    return out;
  }

  static TensorProto tensor(String name, float[] values, int... dims) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    TensorProto.Builder t = TensorProto.newBuilder().setName(name)
        .setDataType(TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(b.array()));
    for (int d : dims) {
      t.addDims(d);
    }
    return t.build();
  }

  /** A minimal WordPiece tokenizer.json with BERT's special tokens and a truncation setting. */
  static String tokenizerJson() {
    return "{\"version\":\"1.0\",\"truncation\":{\"direction\":\"Right\",\"max_length\":6,"
        + "\"strategy\":\"LongestFirst\",\"stride\":0},\"padding\":null,\"added_tokens\":[],"
        + "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,"
        + "\"handle_chinese_chars\":true,\"strip_accents\":null,\"lowercase\":true},"
        + "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},\"post_processor\":null,"
        + "\"decoder\":null,\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\","
        + "\"continuing_subword_prefix\":\"##\",\"max_input_chars_per_word\":100,\"vocab\":{"
        + "\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"[MASK]\":4,\"a\":5,\"b\":6,"
        + "\"c\":7,\"d\":8,\"e\":9,\"f\":10,\"g\":11}}}";
  }
}
