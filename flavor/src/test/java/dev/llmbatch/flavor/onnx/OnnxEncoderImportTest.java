package dev.llmbatch.flavor.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.MLmodel;
import dev.llmbatch.flavor.MLmodelReader;
import dev.llmbatch.flavor.hf.PoolingMode;
import dev.llmbatch.flavor.hf.SentenceTransformers;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.GraphProto;
import dev.llmbatch.flavor.onnx.proto.OnnxProtos.ModelProto;
import dev.llmbatch.flavor.safetensors.SafetensorsFile;
import dev.llmbatch.flavor.safetensors.TensorInfo;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxEncoderImportTest {
  @TempDir Path dir;
  private final ObjectMapper json = new ObjectMapper();

  private Path writeModel(ModelProto m) throws IOException {
    Path f = dir.resolve("model.onnx");
    Files.write(f, m.toByteArray());
    return f;
  }

  private Path writeTokenizer() throws IOException {
    Path f = dir.resolve("tokenizer.json");
    Files.writeString(f, TinyBertOnnx.tokenizerJson());
    return f;
  }

  private static OnnxEncoderImport.Options mean() {
    return new OnnxEncoderImport.Options(PoolingMode.MEAN, true, null, "tiny");
  }

  @Test
  void importsNamesTransposesAndReconstructsConfig() throws IOException {
    TinyBertOnnx tiny = new TinyBertOnnx();
    Path onnx = writeModel(tiny.model(true));
    Path out = dir.resolve("flavor");
    OnnxEncoderImport.Result r = OnnxEncoderImport.run(onnx, writeTokenizer(), mean(), out);

    JsonNode c = json.readTree(out.resolve("model/config.json").toFile());
    assertEquals("BertModel", c.get("architectures").get(0).asText());
    assertEquals("bert", c.get("model_type").asText());
    assertEquals(TinyBertOnnx.HIDDEN, c.get("hidden_size").asInt());
    assertEquals(TinyBertOnnx.HEADS, c.get("num_attention_heads").asInt());
    assertEquals(TinyBertOnnx.LAYERS, c.get("num_hidden_layers").asInt());
    assertEquals(TinyBertOnnx.INTER, c.get("intermediate_size").asInt());
    assertEquals(TinyBertOnnx.VOCAB, c.get("vocab_size").asInt());
    assertEquals(TinyBertOnnx.POSITIONS, c.get("max_position_embeddings").asInt());
    assertEquals(2, c.get("type_vocab_size").asInt());
    assertEquals(1e-12, c.get("layer_norm_eps").asDouble(), 0);
    assertEquals("gelu", c.get("hidden_act").asText());

    try (SafetensorsFile st = SafetensorsFile.open(out.resolve("model/model.safetensors"))) {
      assertEquals(3 + 2 + TinyBertOnnx.LAYERS * BertGraph.LAYER_TENSORS.size(),
          st.tensors().size());
      assertEquals(r.tensors(), st.tensors().size());
      for (var e : tiny.linearWeights.entrySet()) {
        TensorInfo t = st.tensors().get(e.getKey());
        float[][] w = e.getValue();
        assertEquals(w.length, t.shape()[0], e.getKey() + " rows = out features");
        assertEquals(w[0].length, t.shape()[1], e.getKey() + " cols = in features");
        FloatBuffer f = st.data(e.getKey()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        for (int o = 0; o < w.length; o++) {
          for (int i = 0; i < w[0].length; i++) {
            assertEquals(w[o][i], f.get(o * w[0].length + i), 0f, e.getKey());
          }
        }
      }
      assertFalse(st.tensors().keySet().stream().anyMatch(k -> k.startsWith("onnx::")));
    }

    MLmodel m = MLmodelReader.read(out.resolve("MLmodel"));
    assertEquals("feature-extraction", m.transformers().task());
    assertEquals("llm/v1/embeddings", m.transformers().inferenceTask());
    assertEquals("BertModel", m.transformers().pipelineModelType());
    assertEquals("model", m.transformers().modelBinary());
    assertEquals("llm/v1/embeddings", m.metadata().task());

    SentenceTransformers st = SentenceTransformers.read(out.resolve("model")).orElseThrow();
    assertEquals(PoolingMode.MEAN, st.poolingMode().orElseThrow());
    assertTrue(st.normalize());
    assertEquals(6, st.maxSeqLength()); // from the tokenizer.json truncation

    JsonNode tok = json.readTree(out.resolve("components/tokenizer/tokenizer.json").toFile());
    assertTrue(tok.get("truncation").isNull(), "truncation is left to max_seq_length");
    JsonNode tc = json.readTree(out.resolve("components/tokenizer/tokenizer_config.json").toFile());
    assertTrue(tc.get("do_lower_case").asBoolean());
    assertEquals("[CLS]", tc.get("cls_token").asText());
    assertEquals(6, tc.get("model_max_length").asInt());
  }

  @Test
  void jarInputAndOverrides() throws IOException {
    Path jar = dir.resolve("model.jar");
    try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(jar))) {
      z.putNextEntry(new ZipEntry("tiny-tokenizer.json"));
      z.write(TinyBertOnnx.tokenizerJson().getBytes(StandardCharsets.UTF_8));
      z.putNextEntry(new ZipEntry("tiny.onnx"));
      z.write(TinyBertOnnx.build(true).toByteArray());
    }
    Path out = dir.resolve("cls");
    OnnxEncoderImport.runJar(jar, new OnnxEncoderImport.Options(PoolingMode.CLS, false, 8, null),
        out);
    SentenceTransformers st = SentenceTransformers.read(out.resolve("model")).orElseThrow();
    assertEquals(PoolingMode.CLS, st.poolingMode().orElseThrow());
    assertFalse(st.normalize());
    assertEquals(8, st.maxSeqLength());
    assertEquals("model.jar", MLmodelReader.read(out.resolve("MLmodel")).transformers()
        .sourceModelName());
    FlavorException tooLong = assertThrows(FlavorException.class, () -> OnnxEncoderImport.runJar(
        jar, new OnnxEncoderImport.Options(PoolingMode.CLS, false, 11, null), dir.resolve("x")));
    assertTrue(tooLong.getMessage().contains("10 position embeddings"), tooLong.getMessage());
  }

  @Test
  void malformedInputsFailWithTheReason() throws IOException {
    Path tok = writeTokenizer();
    Path garbage = dir.resolve("garbage.onnx");
    Files.write(garbage, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07, 0x01});
    FlavorException e = assertThrows(FlavorException.class,
        () -> OnnxEncoderImport.run(garbage, tok, mean(), dir.resolve("o1")));
    assertTrue(e.getMessage().contains("not a valid ONNX protobuf"), e.getMessage());

    Path empty = writeModel(ModelProto.newBuilder().setIrVersion(6)
        .setGraph(GraphProto.newBuilder()).build());
    e = assertThrows(FlavorException.class,
        () -> OnnxEncoderImport.run(empty, tok, mean(), dir.resolve("o2")));
    assertTrue(e.getMessage().contains("no graph nodes"), e.getMessage());

    Path noBias = writeModel(TinyBertOnnx.build(false));
    e = assertThrows(FlavorException.class,
        () -> OnnxEncoderImport.run(noBias, tok, mean(), dir.resolve("o3")));
    assertTrue(e.getMessage().contains("onnx::MatMul_") && e.getMessage().contains(".bias"),
        e.getMessage());

    e = assertThrows(FlavorException.class, () -> OnnxEncoderImport.run(dir.resolve("none.onnx"),
        tok, mean(), dir.resolve("o4")));
    assertTrue(e.getMessage().contains("no such file"), e.getMessage());

    Path ok = writeModel(TinyBertOnnx.build(true));
    Path notEmpty = dir.resolve("o5");
    Files.createDirectories(notEmpty);
    Files.writeString(notEmpty.resolve("keep.txt"), "x");
    e = assertThrows(FlavorException.class,
        () -> OnnxEncoderImport.run(ok, tok, mean(), notEmpty));
    assertTrue(e.getMessage().contains("not empty"), e.getMessage());

    Path badTok = dir.resolve("bad-tokenizer.json");
    Files.writeString(badTok, "{\"no_model\": 1}");
    e = assertThrows(FlavorException.class,
        () -> OnnxEncoderImport.run(ok, badTok, mean(), dir.resolve("o6")));
    assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());

    Path jar = dir.resolve("no-tokenizer.jar");
    try (OutputStream os = Files.newOutputStream(jar); ZipOutputStream z = new ZipOutputStream(os)) {
      z.putNextEntry(new ZipEntry("m.onnx"));
      z.write(TinyBertOnnx.build(true).toByteArray());
    }
    e = assertThrows(FlavorException.class,
        () -> OnnxEncoderImport.runJar(jar, mean(), dir.resolve("o7")));
    assertTrue(e.getMessage().contains("no tokenizer.json entry"), e.getMessage());

    assertThrows(FlavorException.class,
        () -> new OnnxEncoderImport.Options(PoolingMode.WEIGHTED_MEAN, true, null, null));
  }
}
