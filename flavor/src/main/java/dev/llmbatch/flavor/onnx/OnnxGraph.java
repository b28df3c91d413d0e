package dev.llmbatch.flavor.onnx;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.AttributeProto;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.GraphProto;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.ModelProto;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.NodeProto;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.TensorProto;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A parsed ONNX model with the lookups an importer needs: initializers by name, the node producing
 * each value, the nodes consuming it, and constant values (initializers or {@code Constant} nodes).
 */
final class OnnxGraph {
  private final String source;
  private final ModelProto model;
  private final Map<String, TensorProto> initializers = new LinkedHashMap<>();
  private final Map<String, NodeProto> producers = new HashMap<>();
  private final Map<String, List<NodeProto>> consumers = new HashMap<>();

  private OnnxGraph(String source, ModelProto model) {
    this.source = source;
    this.model = model;
    GraphProto g = model.getGraph();
    for (TensorProto t : g.getInitializerList()) {
      initializers.put(t.getName(), t);
    }
    for (NodeProto n : g.getNodeList()) {
      for (String out : n.getOutputList()) {
        producers.put(out, n);
      }
      for (String in : n.getInputList()) {
        consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
      }
    }
  }

  /** Parses an ONNX model file. */
  static OnnxGraph read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new FlavorException("Cannot read ONNX model " + file + ": no such file");
    }
    try (InputStream in = Files.newInputStream(file)) {
      return parse(in, file.toString());
    } catch (IOException e) {
      throw new FlavorException("Cannot read ONNX model " + file + ": " + e.getMessage(), e);
    }
  }

  /** Parses an ONNX model from a stream; {@code source} names it in errors. */
  static OnnxGraph parse(InputStream in, String source) throws IOException {
    ModelProto m;
    try {
      // protobuf's default 100 MB message limit is lifted: real graphs carry their weights inline
      com.google.protobuf.CodedInputStream cis = com.google.protobuf.CodedInputStream.newInstance(in);
      cis.setSizeLimit(Integer.MAX_VALUE);
      m = ModelProto.parseFrom(cis);
    } catch (InvalidProtocolBufferException e) {
      throw new FlavorException("Cannot read ONNX model " + source + ": not a valid ONNX protobuf ("
          + e.getMessage() + "); is it an .onnx file?", e);
    }
    if (!m.hasGraph() || m.getGraph().getNodeCount() == 0) {
      throw new FlavorException("Cannot read ONNX model " + source + ": it has no graph nodes;"
          + " is it an .onnx model file?");
    }
    return new OnnxGraph(source, m);
  }

  String source() {
    return source;
  }

  ModelProto model() {
    return model;
  }

  List<NodeProto> nodes() {
    return model.getGraph().getNodeList();
  }

  Map<String, TensorProto> initializers() {
    return initializers;
  }

  Optional<NodeProto> producer(String value) {
    return Optional.ofNullable(producers.get(value));
  }

  List<NodeProto> consumers(String value) {
    return consumers.getOrDefault(value, List.of());
  }

  /** The constant tensor behind {@code value}: an initializer or a {@code Constant} node's value. */
  Optional<TensorProto> constant(String value) {
    TensorProto t = initializers.get(value);
    if (t != null) {
      return Optional.of(t);
    }
    NodeProto n = producers.get(value);
    if (n != null && n.getOpType().equals("Constant")) {
      for (AttributeProto a : n.getAttributeList()) {
        if (a.getName().equals("value") && a.hasT()) {
          return Optional.of(a.getT());
        }
      }
    }
    return Optional.empty();
  }

  /** A float attribute of {@code node}, if set. */
  static Optional<Float> floatAttr(NodeProto node, String name) {
    for (AttributeProto a : node.getAttributeList()) {
      if (a.getName().equals(name) && a.hasF()) {
        return Optional.of(a.getF());
      }
    }
    return Optional.empty();
  }

  /** The values of a FLOAT tensor, from raw_data (little-endian) or float_data. */
  float[] floats(TensorProto t) {
    if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
      throw new FlavorException("Cannot import tensor '" + t.getName() + "' from " + source
          + ": data_type " + dtypeName(t.getDataType()) + ", expected FLOAT (float32)");
    }
    checkInline(t);
    long n = numel(t);
    if (!t.getRawData().isEmpty()) {
      if (t.getRawData().size() != n * 4) {
        throw new FlavorException("Cannot import tensor '" + t.getName() + "' from " + source
            + ": raw_data holds " + t.getRawData().size() + " bytes, shape " + t.getDimsList()
            + " needs " + n * 4 + "; the file is truncated or corrupt");
      }
      float[] out = new float[(int) n];
      t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
      return out;
    }
    if (t.getFloatDataCount() != n) {
      throw new FlavorException("Cannot import tensor '" + t.getName() + "' from " + source
          + ": float_data holds " + t.getFloatDataCount() + " values, shape " + t.getDimsList()
          + " needs " + n);
    }
    float[] out = new float[(int) n];
    for (int i = 0; i < n; i++) {
      out[i] = t.getFloatData(i);
    }
    return out;
  }

  /** The values of an INT64 or INT32 tensor. */
  long[] longs(TensorProto t) {
    checkInline(t);
    int type = t.getDataType();
    long n = numel(t);
    long[] out = new long[(int) n];
    if (type == TensorProto.DataType.INT64_VALUE) {
      if (!t.getRawData().isEmpty()) {
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
          out[i] = b.getLong(i * 8);
        }
      } else {
        for (int i = 0; i < n && i < t.getInt64DataCount(); i++) {
          out[i] = t.getInt64Data(i);
        }
      }
      return out;
    }
    if (type == TensorProto.DataType.INT32_VALUE) {
      if (!t.getRawData().isEmpty()) {
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
          out[i] = b.getInt(i * 4);
        }
      } else {
        for (int i = 0; i < n && i < t.getInt32DataCount(); i++) {
          out[i] = t.getInt32Data(i);
        }
      }
      return out;
    }
    throw new FlavorException("Cannot import tensor '" + t.getName() + "' from " + source
        + ": data_type " + dtypeName(type) + ", expected an integer tensor");
  }

  private void checkInline(TensorProto t) {
    if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0) {
      throw new FlavorException("Cannot import tensor '" + t.getName() + "' from " + source
          + ": its data is stored in an external file; re-export the model with the weights"
          + " inside the .onnx file (onnx.save_model(..., save_as_external_data=False))");
    }
  }

  static long numel(TensorProto t) {
    long n = 1;
    for (long d : t.getDimsList()) {
      n *= d;
    }
    return n;
  }

  static long[] dims(TensorProto t) {
    return t.getDimsList().stream().mapToLong(Long::longValue).toArray();
  }

  static String dtypeName(int type) {
    TensorProto.DataType d = TensorProto.DataType.forNumber(type);
    return d == null ? "#" + type : d.name();
  }
}
