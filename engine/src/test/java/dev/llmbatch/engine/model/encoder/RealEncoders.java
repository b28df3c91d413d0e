package dev.llmbatch.engine.model.encoder;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.llmbatch.engine.EngineException;
import dev.llmbatch.flavor.hf.PoolingMode;
import dev.llmbatch.flavor.onnx.OnnxEncoderImport;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The real sentence-embedding models on the test classpath (LangChain4j's jars from Maven Central),
 * imported once per test JVM into MLflow flavors under a temporary folder, plus varied sentences.
 */
public final class RealEncoders {
  /** A model on the classpath: its ONNX entry, pooling and normalisation. */
  public enum Model {
    MINILM("all-minilm-l6-v2.onnx", PoolingMode.MEAN),
    BGE("bge-small-en-v1.5.onnx", PoolingMode.CLS),
    /** e5-small-v2: mean + L2; its users prefix inputs with {@code query: } / {@code passage: }. */
    E5("e5-small-v2.onnx", PoolingMode.MEAN);

    final String onnxEntry;
    final PoolingMode pooling;

    Model(String onnxEntry, PoolingMode pooling) {
      this.onnxEntry = onnxEntry;
      this.pooling = pooling;
    }
  }

  private static final Map<Model, Path> IMPORTED = new ConcurrentHashMap<>();
  private static Path root;

  private RealEncoders() {}

  /** The jar holding {@code model}, found on the test classpath. */
  public static Path jar(Model model) {
    URL url = RealEncoders.class.getClassLoader().getResource(model.onnxEntry);
    if (url == null) {
      throw new IllegalStateException(model.onnxEntry + " is not on the test classpath: the"
          + " langchain4j embedding jars are test dependencies of the engine module");
    }
    try {
      return Path.of(((JarURLConnection) url.openConnection()).getJarFileURL().toURI());
    } catch (IOException | java.net.URISyntaxException e) {
      throw new IllegalStateException("Cannot locate the jar of " + url, e);
    }
  }

  /** The raw ONNX bytes of {@code model} (for onnxruntime). */
  public static byte[] onnxBytes(Model model) {
    try (InputStream in = RealEncoders.class.getClassLoader().getResourceAsStream(model.onnxEntry)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The imported flavor root of {@code model} (max_seq_length 512 so long inputs fit). */
  public static synchronized Path flavor(Model model) {
    return IMPORTED.computeIfAbsent(model, m -> {
      try {
        if (root == null) {
          root = Files.createTempDirectory("llmbatch-real-encoders");
          Runtime.getRuntime().addShutdownHook(new Thread(RealEncoders::deleteRoot));
        }
        Path out = root.resolve(m.name().toLowerCase());
        OnnxEncoderImport.runJar(jar(m), new OnnxEncoderImport.Options(m.pooling, true, 512, null),
            out);
        return out;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  /** The imported tokenizer, with every token kept (no truncation, no padding). */
  public static HuggingFaceTokenizer tokenizer(Model model) {
    try {
      return HuggingFaceTokenizer.builder()
          .optTokenizerPath(flavor(model).resolve("components/tokenizer"))
          .optAddSpecialTokens(true).optTruncation(false).optPadding(false).build();
    } catch (IOException e) {
      throw new EngineException("Cannot load tokenizer: " + e, e);
    }
  }

  /** Token ids as ints. */
  public static int[] ids(HuggingFaceTokenizer tok, String text) {
    long[] ids = tok.encode(text).getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = Math.toIntExact(ids[i]);
    }
    return out;
  }

  /**
   * At least 50 varied inputs: short, long (256+ tokens), unicode, punctuation-only, numbers, code.
   */
  public static List<String> sentences() {
    List<String> s = new ArrayList<>(List.of(
        "Hi", "A man is eating food.", "A man is eating a piece of bread.",
        "The girl is carrying a baby.", "A man is riding a horse.",
        "A woman is playing violin.", "Two men pushed carts through the woods.",
        "A monkey is playing drums.", "What is the capital of France?",
        "Paris is the capital and most populous city of France.",
        "HELLO, World!! How are you doing today?", "bread", "!!!", "?!?!... ---",
        "... ,,, ;;; ::: ((( )))", "Café naïve résumé — Ångström Über",
        "東京は日本の首都です", "北京是中国的首都。", "Москва — столица России.",
        "Ελληνικά κείμενα με τόνους.", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया",
        "🤗 emojis 🚀🔥 everywhere 🎉", "In 2024, revenue rose 3.5% to $1,234,567.89.",
        "Call +1 (555) 010-9999 or mail info@example.com", "x = f(y) + 2 * z;",
        "for (int i = 0; i < n; i++) { sum += a[i]; }", "SELECT * FROM users WHERE id = 42;",
        "https://example.com/path?query=1&x=y#frag", "The quick brown fox jumps over the lazy dog.",
        "the QUICK brown FOX", "   leading and trailing spaces   ", "tabs\tand\nnewlines\r\nmixed",
        "antidisestablishmentarianism hyperparameterization", "a b c d e f g h i j k l m n o p",
        "I love this product; it works perfectly!", "I hate this product; it broke at once.",
        "Machine learning models map text to vectors.", "Embeddings capture semantic similarity.",
        "Le chat est sur la table.", "Der Hund schläft im Garten.", "El perro corre en el parque.",
        "naïve café", "NAÏVE CAFÉ", "0", "3.14159265358979323846", "¿Qué?", "«Bonjour»",
        "C'est l'été!"));
    String para = "The history of computing is a story of abstraction layered upon abstraction."
        + " Each generation of engineers built tools that hid the complexity beneath them,"
        + " from vacuum tubes to transistors, from assembly to compilers, and from batch jobs"
        + " to interactive systems that answer in milliseconds. ";
    s.add(para.repeat(3)); // ~150 tokens
    s.add(para.repeat(6)); // ~300 tokens
    s.add(para.repeat(9)); // ~450 tokens
    s.add("word ".repeat(300)); // 300 + 2 tokens
    s.add("Unicode mix: 東京 Москва 🤗 café — ".repeat(20)); // long, multi-script
    s.add("!?.,;: ".repeat(60)); // long punctuation-only
    return s;
  }

  /**
   * The inputs {@code model}'s users send: {@link #sentences()}, and for E5 the same sentences
   * with its {@code query: } / {@code passage: } prefixes, alternating (the long ones as passages).
   */
  public static List<String> sentences(Model model) {
    List<String> s = sentences();
    if (model != Model.E5) {
      return s;
    }
    List<String> out = new ArrayList<>(s.size());
    for (int i = 0; i < s.size(); i++) {
      out.add((i % 2 == 0 && s.get(i).length() < 200 ? "query: " : "passage: ") + s.get(i));
    }
    return out;
  }

  private static void deleteRoot() {
    if (root == null) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // temporary files; the OS cleans up what remains
    }
  }
}
