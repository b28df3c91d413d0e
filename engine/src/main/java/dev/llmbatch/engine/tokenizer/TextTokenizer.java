package dev.llmbatch.engine.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.llmbatch.engine.EngineException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * A Hugging Face fast tokenizer loaded offline from a folder's {@code tokenizer.json}.
 *
 * <p>Encoding never pads or truncates, and special tokens (BOS, {@code [CLS]}/{@code [SEP]}...)
 * are added only when a call asks for them, so ids equal Python's
 * {@code tokenizer(text, add_special_tokens=...)}: DJL wraps the same Rust core. Instances are
 * thread-safe and hold native memory: {@link #close()} them when the model is unloaded.
 */
public final class TextTokenizer implements AutoCloseable {
  private final Path directory;
  private final HuggingFaceTokenizer tokenizer;
  private final Vocabulary vocabulary;

  private TextTokenizer(Path directory, HuggingFaceTokenizer tokenizer, Vocabulary vocabulary) {
    this.directory = directory;
    this.tokenizer = tokenizer;
    this.vocabulary = vocabulary;
  }

  /**
   * Loads {@code tokenizer.json} from a folder (an MLflow {@code components/tokenizer} or a
   * checkpoint folder). Nothing is downloaded.
   */
  public static TextTokenizer load(Path tokenizerDir) {
    Path json = tokenizerDir.resolve("tokenizer.json");
    if (!Files.isRegularFile(json)) {
      throw new EngineException(
          "Cannot load tokenizer from " + tokenizerDir + ": no tokenizer.json there; only fast"
              + " tokenizers are supported (save the model with a fast tokenizer, or convert it"
              + " with transformers' AutoTokenizer(use_fast=True).save_pretrained)");
    }
    Vocabulary vocabulary = Vocabulary.read(json);
    try {
      HuggingFaceTokenizer tokenizer =
          HuggingFaceTokenizer.builder()
              .optTokenizerPath(tokenizerDir)
              .optAddSpecialTokens(false)
              .optPadding(false)
              .optTruncation(false)
              .build();
      return new TextTokenizer(tokenizerDir, tokenizer, vocabulary);
    } catch (IOException | RuntimeException e) {
      throw new EngineException("Cannot load tokenizer " + json + ": " + e.getMessage(), e);
    }
  }

  /** The folder this tokenizer was loaded from. */
  public Path directory() {
    return directory;
  }

  /**
   * Encodes text; {@code addSpecial} adds the tokenizer's template tokens (BOS, CLS/SEP) as
   * {@code add_special_tokens=True} does. Special-token text inside {@code text} (such as
   * {@code <|im_start|>}) is always recognised as that token, as in Python.
   */
  public int[] encode(String text, boolean addSpecial) {
    long[] ids = tokenizer.encode(text, addSpecial, false).getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  /** Decodes ids to text; {@code skipSpecial} drops special tokens as Python's decode does. */
  public String decode(int[] ids, boolean skipSpecial) {
    if (ids.length == 0) {
      return "";
    }
    long[] longs = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= vocabulary.size()) {
        throw new EngineException(
            "Cannot decode token id " + ids[i] + " at index " + i + ": the tokenizer in "
                + directory + " has ids 0.." + (vocabulary.size() - 1));
      }
      longs[i] = ids[i];
    }
    return tokenizer.decode(longs, skipSpecial);
  }

  /**
   * The number of ids the tokenizer knows (its vocabulary plus added tokens, {@code len(tokenizer)}
   * in Python); a model's embedding matrix may have more rows.
   */
  public int vocabSize() {
    return vocabulary.size();
  }

  /** The id of a token string in the vocabulary (e.g. {@code "<|im_end|>"}), if it has one. */
  public OptionalInt tokenId(String token) {
    return vocabulary.id(token);
  }

  /** The vocabulary string of an id ({@code convert_ids_to_tokens}), e.g. {@code "Ġthe"}. */
  public String token(int id) {
    return vocabulary.token(id);
  }

  /** Whether an id is an added token marked {@code special} in tokenizer.json. */
  public boolean isSpecial(int id) {
    return vocabulary.isSpecial(id);
  }

  /** A fresh streaming detokenizer for one sequence. */
  public IncrementalDecoder incrementalDecoder(boolean skipSpecial) {
    return new IncrementalDecoder(this, skipSpecial);
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
