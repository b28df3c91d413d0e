package dev.llmbatch.engine.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.flavor.safetensors.SafetensorsFile;
import dev.llmbatch.flavor.safetensors.SafetensorsWriter;
import dev.llmbatch.flavor.safetensors.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes tiny decoder-based embedding models: a bare {@code *Model} checkpoint (as HF saves
 * {@code Qwen3Model}: no {@code model.} prefix, no {@code lm_head}) derived tensor by tensor from a
 * {@link TinyDecoders} causal LM, and a complete MLflow flavor shaped like Qwen3-Embedding
 * (sentence-transformers last-token pooling + Normalize, a tokenizer that appends
 * {@code <|endoftext|>}).
 */
public final class TinyEmbedders {
  /** Qwen3's {@code <|endoftext|>}, which Qwen3-Embedding's tokenizer appends to every input. */
  public static final int ENDOFTEXT = 151643;

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private TinyEmbedders() {}

  /**
   * Copies the causal LM checkpoint in {@code causalDir} into {@code out} as HF's bare
   * {@code architecture} (e.g. {@code Qwen3Model}) saves it: the same tensors without the
   * {@code model.} prefix, no {@code lm_head.weight}. Returns {@code out}.
   */
  public static Path bareModel(Path causalDir, Path out, String architecture) {
    try {
      Files.createDirectories(out);
      ObjectNode config = (ObjectNode) JSON.readTree(causalDir.resolve("config.json").toFile());
      ArrayNode archs = config.putArray("architectures");
      archs.add(architecture);
      JSON.writeValue(out.resolve("config.json").toFile(), config);
      Map<String, SafetensorsWriter.Tensor> tensors = new LinkedHashMap<>();
      try (SafetensorsFile f = SafetensorsFile.open(causalDir.resolve("model.safetensors"))) {
        for (TensorInfo t : f.tensors().values()) {
          if (t.name().startsWith("lm_head.")) {
            continue;
          }
          ByteBuffer data = f.data(t.name());
          byte[] bytes = new byte[data.remaining()];
          data.get(bytes);
          String name = t.name().startsWith("model.") ? t.name().substring(6) : t.name();
          tensors.put(name, new SafetensorsWriter.Tensor(t.dtype(), t.shape(), bytes));
        }
      }
      SafetensorsWriter.write(out.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes a complete MLflow Transformers flavor of a tiny random Qwen3 embedding model into
   * {@code dir}: {@code task: feature-extraction}, {@code inference_task: llm/v1/embeddings};
   * {@code model/} a bare {@code Qwen3Model} checkpoint (vocab 151,669, hidden 16) with
   * sentence-transformers {@code modules.json}, {@code 1_Pooling/config.json} (lasttoken),
   * {@code 2_Normalize} and {@code sentence_bert_config.json} (max_seq_length 64);
   * {@code components/tokenizer/} the real Qwen3 tokenizer from the shared reference whose
   * post-processor appends {@code <|endoftext|>}, as Qwen3-Embedding's tokenizer.json does. Needs
   * the system property {@code llmbatch.shared.dir}.
   */
  public static Path qwen3EmbeddingFlavor(Path dir) {
    try {
      Path causal = TinyDecoders.chatFlavor(dir.resolve("causal-source"), "qwen3");
      Path model = bareModel(causal.resolve("model"), dir.resolve("model"), "Qwen3Model");
      write(model.resolve("modules.json"), "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\","
          + " \"type\": \"sentence_transformers.models.Transformer\"},"
          + " {\"idx\": 1, \"name\": \"1\","
          + " \"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"},"
          + " {\"idx\": 2, \"name\": \"2\", \"path\": \"2_Normalize\","
          + " \"type\": \"sentence_transformers.models.Normalize\"}]");
      write(model.resolve("1_Pooling/config.json"), "{\"word_embedding_dimension\": 16,"
          + " \"pooling_mode_cls_token\": false, \"pooling_mode_mean_tokens\": false,"
          + " \"pooling_mode_max_tokens\": false, \"pooling_mode_mean_sqrt_len_tokens\": false,"
          + " \"pooling_mode_weightedmean_tokens\": false, \"pooling_mode_lasttoken\": true,"
          + " \"include_prompt\": true}");
      Files.createDirectories(model.resolve("2_Normalize"));
      write(model.resolve("sentence_bert_config.json"),
          "{\"max_seq_length\": 64, \"do_lower_case\": false}");
      Path tok = dir.resolve("components/tokenizer");
      Files.createDirectories(tok);
      Path src = causal.resolve("components/tokenizer");
      for (String f : List.of("tokenizer_config.json", "special_tokens_map.json")) {
        Files.copy(src.resolve(f), tok.resolve(f));
      }
      ObjectNode tj = (ObjectNode) JSON.readTree(src.resolve("tokenizer.json").toFile());
      tj.set("post_processor", JSON.readTree("""
          {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false,
             "use_regex": false},
            {"type": "TemplateProcessing",
             "single": [{"Sequence": {"id": "A", "type_id": 0}},
                        {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}],
             "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
                      {"Sequence": {"id": "B", "type_id": 1}},
                      {"SpecialToken": {"id": "<|endoftext|>", "type_id": 1}}],
             "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [151643],
                                                  "tokens": ["<|endoftext|>"]}}}]}
          """));
      JSON.writeValue(tok.resolve("tokenizer.json").toFile(), tj);
      delete(causal);
      write(dir.resolve("MLmodel"), """
          artifact_path: model
          flavors:
            python_function:
              loader_module: mlflow.transformers
              python_version: 3.11.2
            transformers:
              code: null
              components:
              - tokenizer
              framework: pt
              inference_task: llm/v1/embeddings
              instance_type: FeatureExtractionPipeline
              model_binary: model
              pipeline_model_type: Qwen3Model
              source_model_name: llm-batch-tests/tiny-random-qwen3-embedding
              task: feature-extraction
              tokenizer_type: Qwen2TokenizerFast
              torch_dtype: torch.float32
              transformers_version: 4.51.3
          metadata:
            task: llm/v1/embeddings
          """);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void delete(Path tree) throws IOException {
    try (java.util.stream.Stream<Path> walk = Files.walk(tree)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static void write(Path file, String text) throws IOException {
    Files.createDirectories(file.getParent());
    Files.writeString(file, text, StandardCharsets.UTF_8);
  }
}
