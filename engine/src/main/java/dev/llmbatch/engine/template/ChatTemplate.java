package dev.llmbatch.engine.template;

import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaProcessors;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.loader.ResourceLocator;
import java.nio.charset.Charset;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Hugging Face chat template (the Jinja2 {@code chat_template} of tokenizer_config.json),
 * compiled once per model and rendered per request, with the output Python's
 * {@code tokenizer.apply_chat_template(messages, tokenize=False, ...)} gives.
 *
 * <p>Rendering runs on Jinjava with the pieces Jinja2 has and Jinjava lacks supplied here:
 * Jinja2's whitespace rules ({@code trim_blocks}, {@code lstrip_blocks}), Python {@code str}
 * methods, {@code '-' * 3}, transformers' {@code tojson}, {@code raise_exception} and {@code
 * strftime_now}. Templates are untrusted: they reach no Java object beyond the Python-like
 * methods, cannot include other resources, and a render is bounded in output size and time. A
 * render fails as a whole ({@link ChatTemplateException}) where Python would raise. Instances are
 * immutable and thread-safe.
 */
public final class ChatTemplate {
  /** Bounds on one render. */
  public record Limits(long maxOutputChars, Duration maxRenderTime) {
    /** 16 M characters (far beyond any context window) and 5 seconds. */
    public static final Limits DEFAULT = new Limits(16L << 20, Duration.ofSeconds(5));

    public Limits {
      if (maxOutputChars <= 0) {
        throw new IllegalArgumentException("maxOutputChars must be positive: " + maxOutputChars);
      }
      if (maxRenderTime == null || maxRenderTime.isNegative() || maxRenderTime.isZero()) {
        throw new IllegalArgumentException("maxRenderTime must be positive: " + maxRenderTime);
      }
    }
  }

  private static final String RESERVED_MESSAGES = "messages";
  private static final String RESERVED_PROMPT = "add_generation_prompt";

  private final String source;
  private final String normalized;
  private final Limits limits;
  private final Clock clock;
  private final PyishJinjava jinjava;

  private ChatTemplate(String source, Limits limits, Clock clock) {
    this.source = source;
    this.normalized = JinjaSource.normalize(source);
    this.limits = limits;
    this.clock = clock;
    this.jinjava = newJinjava(limits);
  }

  /** Compiles a template with the default limits and the system clock. */
  public static ChatTemplate compile(String source) {
    return compile(source, Limits.DEFAULT, Clock.systemDefaultZone());
  }

  /**
   * Compiles a template; {@code clock} is what {@code strftime_now} reads (tests pin it).
   *
   * @throws ChatTemplateException if the source is not a valid template
   */
  public static ChatTemplate compile(String source, Limits limits, Clock clock) {
    if (source == null || source.isBlank()) {
      throw new ChatTemplateException(
          "Cannot compile chat template: the source is " + (source == null ? "null" : "blank"));
    }
    ChatTemplate template =
        new ChatTemplate(source, Objects.requireNonNull(limits), Objects.requireNonNull(clock));
    template.checkSyntax();
    return template;
  }

  /** The template source as given. */
  public String source() {
    return source;
  }

  /**
   * Renders a conversation.
   *
   * @param messages OpenAI-style messages: maps of JSON-like values (String, Number, Boolean,
   *     null, List, Map), e.g. {@code {"role": "user", "content": "Hi"}}
   * @param addGenerationPrompt whether to end with the assistant turn's header
   * @param variables further top-level template variables: {@code bos_token}, {@code eos_token},
   *     {@code tools}, {@code documents}, and the request's {@code chat_template_kwargs} (such as
   *     Qwen3's {@code enable_thinking}); JSON-like values as for messages
   * @throws TemplateRaisedException if the template calls {@code raise_exception}
   * @throws ChatTemplateException for any other failure
   */
  public String render(
      List<Map<String, Object>> messages,
      boolean addGenerationPrompt,
      Map<String, Object> variables) {
    Map<String, Object> bindings = new LinkedHashMap<>();
    if (variables != null) {
      for (Map.Entry<String, Object> e : variables.entrySet()) {
        if (RESERVED_MESSAGES.equals(e.getKey()) || RESERVED_PROMPT.equals(e.getKey())) {
          throw new ChatTemplateException("Cannot render chat template: variable '" + e.getKey()
              + "' is set by the request itself and cannot be passed as a template variable");
        }
        bindings.put(e.getKey(), TemplateValues.copy(e.getValue(), e.getKey()));
      }
    }
    if (messages == null) {
      throw new ChatTemplateException("Cannot render chat template: messages is null");
    }
    List<Object> copied = new ArrayList<>(messages.size());
    for (int i = 0; i < messages.size(); i++) {
      copied.add(TemplateValues.copy(messages.get(i), "messages[" + i + "]"));
    }
    bindings.put(RESERVED_MESSAGES, copied);
    bindings.put(RESERVED_PROMPT, addGenerationPrompt);
    // Jinja2 globals that templates test with "is defined" before calling them.
    bindings.putIfAbsent("raise_exception", "<function raise_exception>");
    bindings.putIfAbsent("strftime_now", "<function strftime_now>");
    return renderBindings(bindings);
  }

  private String renderBindings(Map<String, Object> bindings) {
    RenderState state = RenderState.begin(limits.maxRenderTime().toNanos(), clock);
    RenderResult result;
    try {
      result = jinjava.renderForResult(normalized, bindings);
    } finally {
      RenderState.end();
    }
    if (state.failure() != null) {
      throw state.failure();
    }
    for (TemplateError error : result.getErrors()) {
      if (isFatal(error)) {
        throw new ChatTemplateException("Cannot render chat template: " + describe(error));
      }
    }
    String output = result.getOutput();
    if (output.length() > limits.maxOutputChars()) {
      throw new ChatTemplateException("Cannot render chat template: output exceeds "
          + limits.maxOutputChars() + " characters");
    }
    return output;
  }

  /** Parses the normalized source once, so a broken template fails at load, not per request. */
  private void checkSyntax() {
    com.hubspot.jinjava.interpret.JinjavaInterpreter interpreter = jinjava.newInterpreter();
    com.hubspot.jinjava.interpret.JinjavaInterpreter.pushCurrent(interpreter);
    try {
      interpreter.parse(normalized);
    } finally {
      com.hubspot.jinjava.interpret.JinjavaInterpreter.popCurrent();
    }
    for (TemplateError error : interpreter.getErrors()) {
      if (isFatal(error)) {
        throw new ChatTemplateException("Cannot compile chat template: " + describe(error));
      }
    }
  }

  /**
   * Jinjava reports most failures as soft errors and renders on; Python raises. Fatal ones, and
   * runaway macro recursion (Python's RecursionError), fail the render. Undefined names stay
   * silent, as with Jinja2's default Undefined.
   */
  private static boolean isFatal(TemplateError error) {
    return error.getSeverity() == TemplateError.ErrorType.FATAL
        || (error.getMessage() != null && error.getMessage().startsWith("Max recursion limit"));
  }

  private static String describe(TemplateError error) {
    String message = error.getMessage();
    if (error.getReason() == TemplateError.ErrorReason.OUTPUT_TOO_BIG) {
      message = "output exceeds the size limit (" + message + ")";
    }
    return message + (error.getLineno() > 0 ? " (template line " + error.getLineno() + ")" : "");
  }

  private static PyishJinjava newJinjava(Limits limits) {
    LegacyOverrides overrides =
        LegacyOverrides.newBuilder()
            .withUseTrimmingForNotesAndExpressions(true)
            .withParseWhitespaceControlStrictly(true)
            .withUseNaturalOperatorPrecedence(true)
            .withHandleBackslashInQuotesOnly(true)
            .withKeepNullableLoopValues(true)
            .withUsePyishObjectMapper(true)
            .build();
    JinjavaConfig config =
        JinjavaConfig.newBuilder()
            .withLegacyOverrides(overrides)
            .withTrimBlocks(false) // Jinja2's whitespace rules are applied by JinjaSource
            .withLstripBlocks(false)
            .withKeepTrailingNewline(true)
            .withNestedInterpretationEnabled(false) // message text is data, never a template
            .withElResolver(SandboxResolver.chain())
            .withMaxOutputSize(limits.maxOutputChars())
            .withMaxStringLength(limits.maxOutputChars())
            .withMaxListSize(1_000_000)
            .withMaxMapSize(1_000_000)
            .withRangeLimit(100_000) // Jinja2's sandbox MAX_RANGE
            .withEnableRecursiveMacroCalls(true)
            .withMaxMacroRecursionDepth(100)
            .withFailOnUnknownTokens(false)
            .withIterateOverMapKeys(true) // {% for k in dict %} yields keys, as in Python
            .withExecutionMode(PyOutputStrategy.MODE)
            .withProcessors(
                JinjavaProcessors.newBuilder()
                    .withNodePreProcessor(RenderState::checkDeadline)
                    .build())
            .build();
    PyishJinjava jinjava = new PyishJinjava(config, limits.maxOutputChars());
    jinjava.setResourceLocator(NO_RESOURCES);
    jinjava.registerFilter(new TojsonFilter());
    jinjava.registerFilter(new ItemsFilter());
    PyTests.all().forEach(jinjava::registerExpTest);
    jinjava.registerTag(new FilteredForTag());
    jinjava.registerFunction(new ELFunctionDefinition(
        "", "raise_exception", RenderState.class, "raiseException", Object.class));
    jinjava.registerFunction(new ELFunctionDefinition(
        "", "strftime_now", RenderState.class, "strftimeNow", String.class));
    return jinjava;
  }

  /** Templates may not include, import or extend anything. */
  private static final ResourceLocator NO_RESOURCES =
      (String fullName, Charset encoding, com.hubspot.jinjava.interpret.JinjavaInterpreter i) -> {
        throw new java.io.IOException(
            "chat templates cannot include, import or extend other templates (" + fullName + ")");
      };
}
