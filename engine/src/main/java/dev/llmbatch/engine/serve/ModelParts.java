package dev.llmbatch.engine.serve;

import dev.llmbatch.engine.EngineException;
import dev.llmbatch.engine.embed.EmbeddingService;
import dev.llmbatch.engine.embed.PoolingChoice;
import dev.llmbatch.engine.embed.TokenBudgetBatcher;
import dev.llmbatch.engine.model.Architectures;
import dev.llmbatch.engine.model.Encoder;
import dev.llmbatch.engine.model.decoder.DecoderEmbedder;
import dev.llmbatch.engine.model.encoder.Encoders;
import dev.llmbatch.engine.runtime.TorchRuntime;
import dev.llmbatch.engine.model.CausalLm;
import dev.llmbatch.engine.model.LoadOptions;
import dev.llmbatch.engine.runtime.ComputeDtype;
import dev.llmbatch.engine.template.ChatTemplate;
import dev.llmbatch.engine.template.ChatTemplateException;
import dev.llmbatch.engine.template.MissingChatTemplateException;
import dev.llmbatch.engine.tokenizer.TextTokenizer;
import dev.llmbatch.flavor.LoggedModel;
import dev.llmbatch.flavor.hf.GenerationConfig;
import dev.llmbatch.flavor.hf.SpecialTokensMap;
import dev.llmbatch.flavor.hf.TokenizerConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What serving needs from a logged model, loaded once: tokenizer, chat template (or why there is
 * none), prompt_template, parameter defaults, EOS ids, and the decoder or (for an embeddings
 * model) the encoder's embedding service.
 */
record ModelParts(
    String name,
    String task,
    String fingerprint,
    TextTokenizer tokenizer,
    ChatTemplate chatTemplate,
    String noTemplateReason,
    Map<String, Object> templateVariables,
    PromptTemplate promptTemplate,
    ParameterDefaults defaults,
    int[] eosTokenIds,
    CausalLm model,
    EmbeddingService embeddings) implements AutoCloseable {

  static ModelParts load(LoggedModel logged, ServeOptions options) {
    String task = logged.mlmodel().llmTask();
    String name = logged.flavor().sourceModelName() != null ? logged.flavor().sourceModelName()
        : logged.root().getFileName().toString();
    Path tokDir = logged.tokenizerDir().orElseThrow(() -> new EngineException("Cannot load model "
        + logged.root() + ": it has no tokenizer (components/tokenizer); log it with its tokenizer"));
    TextTokenizer tokenizer = TextTokenizer.load(tokDir);
    CausalLm model = null;
    EmbeddingService embeddings = null;
    try {
      Optional<TokenizerConfig> tc = logged.tokenizerConfig();
      Optional<SpecialTokensMap> stm = logged.specialTokensMap();
      ChatTemplate template = null;
      String noTemplate = new MissingChatTemplateException(name).getMessage();
      if (tc.isPresent() && tc.get().chatTemplate().isPresent()) {
        try {
          template = ChatTemplate.compile(tc.get().chatTemplate().get());
        } catch (ChatTemplateException e) {
          noTemplate = "Cannot use the chat template of model " + name + " (" + tc.get().file()
              + "): " + e.getMessage();
        }
      }
      Map<String, Object> vars = new LinkedHashMap<>();
      String bos = tc.map(TokenizerConfig::bosToken).orElse(stm.map(SpecialTokensMap::bosToken)
          .orElse(null));
      String eos = tc.map(TokenizerConfig::eosToken).orElse(stm.map(SpecialTokensMap::eosToken)
          .orElse(null));
      if (bos != null) {
        vars.put("bos_token", bos);
      }
      if (eos != null) {
        vars.put("eos_token", eos);
      }
      PromptTemplate pt;
      try {
        pt = PromptTemplate.of(logged.mlmodel().metadata().promptTemplate());
      } catch (EngineException e) {
        throw new EngineException("Cannot load model " + logged.root() + ": " + e.getMessage(), e);
      }
      Optional<GenerationConfig> gc = logged.generationConfig();
      ParameterDefaults defaults = new ParameterDefaults(options.jobDefaults(),
          ParameterDefaults.fromModelConfig(logged.modelConfig()),
          ParameterDefaults.fromGenerationConfig(gc.orElse(null)));
      int[] eosIds = eosIds(gc, eos, tokenizer, logged);
      ComputeDtype dtype = options.computeDtype(null); // made concrete by LoadedModel.load
      if (isEmbeddings(logged, task)) {
        if (logged.peftDir().isPresent()) {
          throw new EngineException("Cannot load model " + logged.root() + ": it carries a PEFT"
              + " adapter (" + logged.peftDir().get() + "), which llm-batch merges only into"
              + " decoder LMs; merge it into the encoder's weights before logging");
        }
        TorchRuntime.engine(options.threads());
        // a decoder model_type (Qwen3-Embedding, gte-Qwen2, e5-mistral) embeds with its stack
        Encoder encoder = DecoderEmbedder.isDecoder(logged.weightsDir())
            ? DecoderEmbedder.load(logged.weightsDir(), new LoadOptions(options.device(),
                dtype, options.threads()))
            : Encoders.load(logged.weightsDir(), TorchRuntime.device(options.device()), dtype);
        try {
          embeddings = EmbeddingService.create(encoder, text -> tokenizer.encode(text, true),
              logged.weightsDir(), PoolingChoice.Overrides.NONE, new TokenBudgetBatcher(
                  EmbeddingService.DEFAULT_TOKEN_BUDGET, EmbeddingService.DEFAULT_MAX_ROWS));
        } catch (RuntimeException e) {
          encoder.close();
          throw e;
        }
      } else {
        model = Architectures.loadCausalLm(logged.weightsDir(), new LoadOptions(options.device(),
            dtype, options.threads(),
            logged.peftDir().orElse(null)));
      }
      String fingerprint = fingerprint(logged, model, options);
      return new ModelParts(name, task, fingerprint, tokenizer, template, noTemplate, vars, pt,
          defaults, eosIds, model, embeddings);
    } catch (RuntimeException e) {
      if (model != null) {
        model.close();
      }
      if (embeddings != null) {
        embeddings.encoder().close();
      }
      tokenizer.close();
      throw e;
    }
  }

  /** An embeddings model: logged for llm/v1/embeddings, or as a feature-extraction pipeline. */
  private static boolean isEmbeddings(LoggedModel logged, String task) {
    return "llm/v1/embeddings".equals(task) || "feature-extraction".equals(logged.flavor().task())
        || "sentence-similarity".equals(logged.flavor().task());
  }

  /** generation_config eos_token_id (int or list), else the tokenizer's eos token. */
  private static int[] eosIds(Optional<GenerationConfig> gc, String eos, TextTokenizer tokenizer,
      LoggedModel logged) {
    if (gc.isPresent() && !gc.get().eosTokenIds().isEmpty()) {
      return gc.get().eosTokenIds().stream().mapToInt(Integer::intValue).toArray();
    }
    if (eos != null) {
      OptionalInt id = tokenizer.tokenId(eos);
      if (id.isPresent()) {
        return new int[] {id.getAsInt()};
      }
    }
    long cfg = logged.config().getLong("eos_token_id", -1);
    return cfg >= 0 ? new int[] {(int) cfg} : new int[0];
  }

  private static String fingerprint(LoggedModel logged, CausalLm model, ServeOptions options) {
    String basis = "llm-batch/" + logged.mlmodel().modelUuid() + "/" + logged.root().getFileName()
        + "/" + (model == null ? "encoder" : model.spec().architecture() + "/"
            + model.spec().computeDtype() + "/" + model.spec().device());
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(basis.getBytes(StandardCharsets.UTF_8));
      return "fp_" + HexFormat.of().formatHex(h, 0, 5);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Renders a chat with add_generation_prompt=True; no template is a per-request error. */
  String renderChat(List<Map<String, Object>> messages, Map<String, Object> kwargs) {
    if (chatTemplate == null) {
      throw new ChatTemplateException(noTemplateReason);
    }
    Map<String, Object> vars = new LinkedHashMap<>(templateVariables);
    if (kwargs != null) {
      vars.putAll(kwargs);
    }
    return chatTemplate.render(messages, true, vars);
  }

  @Override
  public void close() {
    try {
      if (model != null) {
        model.close();
      }
      if (embeddings != null) {
        embeddings.encoder().close();
      }
    } finally {
      tokenizer.close();
    }
  }
}
