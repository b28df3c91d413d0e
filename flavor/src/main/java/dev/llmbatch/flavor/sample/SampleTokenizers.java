package dev.llmbatch.flavor.sample;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes small Hugging Face tokenizers from code: a word-level {@code tokenizer.json} (valid for
 * the HF tokenizers library) with its tokenizer_config.json and special_tokens_map.json.
 */
public final class SampleTokenizers {
  /** A ChatML template, the shape Qwen2 tokenizers ship. */
  public static final String CHATML_TEMPLATE = "{% for message in messages %}"
      + "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
      + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

  private SampleTokenizers() {}

  /**
   * Writes a word-level tokenizer (tokenizer.json, tokenizer_config.json,
   * special_tokens_map.json): ids 0..3 are {@code <unk> <s> </s> <|im_end|>}, then
   * {@code <|im_start|>}, then {@code words}. {@code chatTemplate} may be null.
   *
   * @return the vocabulary size
   */
  public static int writeWordLevel(Path dir, List<String> words, String chatTemplate) {
    List<String> specials = List.of("<unk>", "<s>", "</s>", "<|im_end|>", "<|im_start|>");
    Map<String, Integer> vocab = new LinkedHashMap<>();
    specials.forEach(t -> vocab.put(t, vocab.size()));
    words.forEach(t -> vocab.putIfAbsent(t, vocab.size()));
    List<Map<String, Object>> added = new ArrayList<>();
    for (String t : specials) {
      Map<String, Object> a = new LinkedHashMap<>();
      a.put("id", vocab.get(t));
      a.put("content", t);
      a.put("single_word", false);
      a.put("lstrip", false);
      a.put("rstrip", false);
      a.put("normalized", false);
      a.put("special", true);
      added.add(a);
    }
    Map<String, Object> tok = new LinkedHashMap<>();
    tok.put("version", "1.0");
    tok.put("truncation", null);
    tok.put("padding", null);
    tok.put("added_tokens", added);
    tok.put("normalizer", null);
    tok.put("pre_tokenizer", Map.of("type", "Whitespace"));
    tok.put("post_processor", null);
    tok.put("decoder", null);
    Map<String, Object> model = new LinkedHashMap<>();
    model.put("type", "WordLevel");
    model.put("vocab", vocab);
    model.put("unk_token", "<unk>");
    tok.put("model", model);
    SampleModels.writeJson(dir.resolve("tokenizer.json"), tok);

    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("add_bos_token", false);
    cfg.put("add_eos_token", false);
    cfg.put("bos_token", "<s>");
    cfg.put("eos_token", "<|im_end|>");
    cfg.put("pad_token", "</s>");
    cfg.put("unk_token", "<unk>");
    cfg.put("model_max_length", 256);
    cfg.put("tokenizer_class", "PreTrainedTokenizerFast");
    if (chatTemplate != null) {
      cfg.put("chat_template", chatTemplate);
    }
    SampleModels.writeJson(dir.resolve("tokenizer_config.json"), cfg);
    Map<String, Object> special = new LinkedHashMap<>();
    special.put("bos_token", "<s>");
    special.put("eos_token", "<|im_end|>");
    special.put("pad_token", "</s>");
    special.put("unk_token", "<unk>");
    SampleModels.writeJson(dir.resolve("special_tokens_map.json"), special);
    return vocab.size();
  }

  /** A small English word list for sample tokenizers. */
  public static List<String> sampleWords() {
    return List.of("hello", "world", "the", "a", "is", "of", "and", "to", "in", "user",
        "assistant", "system", "what", "how", "llm", "batch", "spark", "model", "text", "!", "?",
        ".", ",");
  }
}
