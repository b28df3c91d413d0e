package dev.llmbatch.flavor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Writes {@link MLmodel} as YAML the way MLflow does: {@code yaml.safe_dump(model.to_dict(),
 * default_flow_style=False)}, i.e. block style, keys sorted at every level, lists not indented
 * under their key, plain scalars where YAML allows them and single quotes otherwise, lines folded
 * at 80 columns, non-ASCII escaped. SnakeYAML (a port of PyYAML's emitter) does the emitting, so
 * quoting and folding follow PyYAML's rules.
 */
public final class MLmodelWriter {
  private MLmodelWriter() {}

  /** SnakeYAML's representer with PyYAML's choice of string style. */
  private static final class Representer extends org.yaml.snakeyaml.representer.Representer {
    Representer(DumperOptions options) {
      super(options);
    }

    void addStringRepresenter() {
      // PyYAML never emits a multi-line plain scalar (SnakeYAML would): ask for single quotes,
      // which the emitter turns into double quotes when single quotes cannot hold the text.
      representers.put(String.class, data -> {
        String s = (String) data;
        boolean multiline = s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0;
        return representScalar(Tag.STR, s, multiline ? DumperOptions.ScalarStyle.SINGLE_QUOTED
            : DumperOptions.ScalarStyle.PLAIN);
      });
    }
  }

  /** The YAML text of {@code model}. */
  public static String toYaml(MLmodel model) {
    DumperOptions options = new DumperOptions();
    options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    options.setIndent(2);
    options.setIndicatorIndent(0);
    options.setWidth(80);
    options.setAllowUnicode(false);
    options.setSplitLines(true);
    // PyYAML lets the emitter pick a multi-line string's style (single quotes); SnakeYAML's default
    // representer forces literal blocks (|-). Represent strings as plain-if-possible, like PyYAML.
    Representer representer = new Representer(options);
    representer.addStringRepresenter();
    return new Yaml(representer, options).dump(sorted(toMap(model)));
  }

  /**
   * Writes {@code model} to {@code file} atomically: a temporary file in the same folder is moved
   * over the target, so a reader sees the old file or the new one, never half of either.
   */
  public static void write(MLmodel model, Path file) {
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = null;
    try {
      Files.createDirectories(dir);
      tmp = Files.createTempFile(dir, ".MLmodel-", ".tmp");
      Files.writeString(tmp, toYaml(model), StandardCharsets.UTF_8);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new FlavorException("Cannot write MLmodel file " + file + ": " + e
          + "; check that the folder is writable", e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort: the move already happened or the write failed and is being reported
        }
      }
    }
  }

  /** The model as the plain map MLflow's {@code Model.to_dict()} would produce. */
  public static Map<String, Object> toMap(MLmodel m) {
    Map<String, Object> top = new LinkedHashMap<>();
    put(top, "artifact_path", m.artifactPath());
    Map<String, Object> flavors = new LinkedHashMap<>();
    if (m.pyFunc() != null) {
      flavors.put(PyFuncFlavor.NAME, pyFunc(m.pyFunc()));
    }
    if (m.transformers() != null) {
      flavors.put(TransformersFlavor.NAME, transformers(m.transformers()));
    }
    flavors.putAll(m.otherFlavors());
    top.put("flavors", flavors);
    put(top, "mlflow_version", m.mlflowVersion());
    put(top, "model_uuid", m.modelUuid());
    put(top, "model_id", m.modelId());
    put(top, "run_id", m.runId());
    put(top, "utc_time_created", m.utcTimeCreated());
    put(top, "model_size_bytes", m.modelSizeBytes());
    if (m.signature() != null) {
      Map<String, Object> sig = new LinkedHashMap<>();
      put(sig, "inputs", m.signature().inputs());
      put(sig, "outputs", m.signature().outputs());
      sig.put("params", m.signature().params()); // MLflow writes params: null when there are none
      sig.putAll(m.signature().extra());
      top.put("signature", sig);
    }
    if (m.savedInputExampleInfo() != null) {
      SavedInputExampleInfo e = m.savedInputExampleInfo();
      Map<String, Object> ex = new LinkedHashMap<>();
      put(ex, "artifact_path", e.artifactPath());
      put(ex, "type", e.type());
      put(ex, "pandas_orient", e.pandasOrient());
      put(ex, "serving_input_path", e.servingInputPath());
      ex.putAll(e.extra());
      top.put("saved_input_example_info", ex);
    }
    if (!m.metadata().isEmpty()) {
      Map<String, Object> md = new LinkedHashMap<>();
      put(md, "task", m.metadata().task());
      put(md, "prompt_template", m.metadata().promptTemplate());
      md.putAll(m.metadata().extra());
      top.put("metadata", md);
    }
    top.putAll(m.extra());
    return top;
  }

  private static Map<String, Object> transformers(TransformersFlavor t) {
    Map<String, Object> f = new LinkedHashMap<>();
    put(f, "transformers_version", t.transformersVersion());
    f.put("code", t.code()); // MLflow always writes it, null when no code paths were given
    put(f, "task", t.task());
    put(f, "inference_task", t.inferenceTask());
    put(f, "instance_type", t.instanceType());
    put(f, "framework", t.framework());
    put(f, "torch_dtype", t.torchDtype());
    put(f, "pipeline_model_type", t.pipelineModelType());
    put(f, "source_model_name", t.sourceModelName());
    put(f, "model_binary", t.modelBinary());
    put(f, "source_model_revision", t.sourceModelRevision());
    f.put("components", new ArrayList<>(t.componentNames()));
    for (TransformersFlavor.Component c : t.components()) {
      put(f, c.name() + "_type", c.type());
      put(f, c.name() + "_name", c.sourceName());
      put(f, c.name() + "_revision", c.revision());
    }
    put(f, "peft_adaptor", t.peftAdaptor());
    put(f, "has_local_base_model_path", t.hasLocalBaseModelPath());
    f.putAll(t.extra());
    return f;
  }

  private static Map<String, Object> pyFunc(PyFuncFlavor p) {
    Map<String, Object> f = new LinkedHashMap<>();
    put(f, "env", p.env());
    put(f, "loader_module", p.loaderModule());
    if (!p.modelConfig().isEmpty()) {
      f.put("model_config", p.modelConfig());
    }
    put(f, "python_version", p.pythonVersion());
    f.putAll(p.extra());
    return f;
  }

  private static void put(Map<String, Object> m, String key, Object value) {
    if (value != null) {
      m.put(key, value);
    }
  }

  /** Deep copy with every mapping's keys sorted (PyYAML's sort_keys) and plain collection types. */
  @SuppressWarnings("unchecked")
  private static Object sorted(Object v) {
    if (v instanceof Map<?, ?> map) {
      Map<String, Object> tree = new TreeMap<>();
      map.forEach((k, val) -> tree.put(String.valueOf(k), sorted(val)));
      return new LinkedHashMap<>(tree);
    }
    if (v instanceof Collection<?> c) {
      List<Object> out = new ArrayList<>();
      c.forEach(e -> out.add(sorted(e)));
      return out;
    }
    return v;
  }
}
