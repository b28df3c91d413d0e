package dev.llmbatch.flavor.onnx;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.llmbatch.flavor.hf.PoolingMode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes sentence-transformers' module files, as {@code SentenceTransformer.save} lays them out. */
final class SentenceTransformerFiles {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private SentenceTransformerFiles() {}

  static void write(Path dir, int hidden, PoolingMode pooling, boolean normalize, int maxSeq,
      boolean lowerCase) throws IOException {
    List<Map<String, Object>> modules = new ArrayList<>();
    modules.add(module(0, "", "sentence_transformers.models.Transformer"));
    modules.add(module(1, "1_Pooling", "sentence_transformers.models.Pooling"));
    if (normalize) {
      modules.add(module(2, "2_Normalize", "sentence_transformers.models.Normalize"));
      Files.createDirectories(dir.resolve("2_Normalize"));
    }
    JSON.writeValue(dir.resolve("modules.json").toFile(), modules);
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("word_embedding_dimension", hidden);
    for (PoolingMode m : PoolingMode.values()) {
      p.put(m.key(), m == pooling);
    }
    p.put("include_prompt", true);
    Files.createDirectories(dir.resolve("1_Pooling"));
    JSON.writeValue(dir.resolve("1_Pooling/config.json").toFile(), p);
    Map<String, Object> sbert = new LinkedHashMap<>();
    sbert.put("max_seq_length", maxSeq);
    sbert.put("do_lower_case", false); // lower-casing is the tokenizer's normalizer's job
    JSON.writeValue(dir.resolve("sentence_bert_config.json").toFile(), sbert);
  }

  private static Map<String, Object> module(int idx, String path, String type) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("idx", idx);
    m.put("name", Integer.toString(idx));
    m.put("path", path);
    m.put("type", type);
    return m;
  }
}
