package dev.llmbatch.engine.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.flavor.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Tiny random BERT checkpoints: the tensors as HF's {@code BertModel} names them (no prefix, no
 * token-type table: callers add what their family needs), and a writer of config.json plus
 * float32 safetensors.
 */
public final class TinyEncoders {
  private TinyEncoders() {}

  /** Name → values and name → shape of one checkpoint, in insertion order. */
  public record Weights(Map<String, float[]> values, Map<String, long[]> shapes) {
    public Weights() {
      this(new LinkedHashMap<>(), new LinkedHashMap<>());
    }

    /** Adds a tensor of N(0, spread²) values. */
    public void random(Random r, double spread, String name, int... dims) {
      int n = 1;
      long[] s = new long[dims.length];
      for (int i = 0; i < dims.length; i++) {
        n *= dims[i];
        s[i] = dims[i];
      }
      float[] v = new float[n];
      for (int i = 0; i < n; i++) {
        v[i] = (float) (r.nextGaussian() * spread);
      }
      put(name, s, v);
    }

    /** Adds (or replaces) a tensor. */
    public void put(String name, long[] shape, float[] values) {
      this.values.put(name, values);
      shapes.put(name, shape);
    }
  }

  /**
   * A random BERT of {@code layers} layers (hidden h, intermediate i, vocabulary v, p positions),
   * every tensor N(0, spread²).
   */
  public static Weights bert(Random r, double spread, int h, int i, int v, int p, int layers) {
    Weights w = new Weights();
    w.random(r, spread, "embeddings.word_embeddings.weight", v, h);
    w.random(r, spread, "embeddings.position_embeddings.weight", p, h);
    w.random(r, spread, "embeddings.LayerNorm.weight", h);
    w.random(r, spread, "embeddings.LayerNorm.bias", h);
    for (int l = 0; l < layers; l++) {
      String pre = "encoder.layer." + l + ".";
      for (String n : new String[] {"attention.self.query", "attention.self.key",
          "attention.self.value", "attention.output.dense"}) {
        w.random(r, spread, pre + n + ".weight", h, h);
        w.random(r, spread, pre + n + ".bias", h);
      }
      w.random(r, spread, pre + "attention.output.LayerNorm.weight", h);
      w.random(r, spread, pre + "attention.output.LayerNorm.bias", h);
      w.random(r, spread, pre + "intermediate.dense.weight", i, h);
      w.random(r, spread, pre + "intermediate.dense.bias", i);
      w.random(r, spread, pre + "output.dense.weight", h, i);
      w.random(r, spread, pre + "output.dense.bias", h);
      w.random(r, spread, pre + "output.LayerNorm.weight", h);
      w.random(r, spread, pre + "output.LayerNorm.bias", h);
    }
    return w;
  }

  /** Writes {@code config} as config.json and {@code w} as model.safetensors into dir. */
  public static Path write(Path dir, Map<String, Object> config, Weights w) {
    try {
      Files.createDirectories(dir);
      new ObjectMapper().writeValue(dir.resolve("config.json").toFile(), config);
      Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
      w.values().forEach((k, v) -> t.put(k, SafetensorsWriter.Tensor.f32(w.shapes().get(k), v)));
      SafetensorsWriter.write(dir.resolve("model.safetensors"), t, Map.of("format", "pt"));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
