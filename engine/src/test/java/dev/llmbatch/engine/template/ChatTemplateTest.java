package dev.llmbatch.engine.template;

import static dev.llmbatch.engine.template.Chats.msg;
import static dev.llmbatch.engine.template.Chats.vars;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.engine.EngineException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Jinja2 semantics that real templates rely on, one feature at a time. Expected strings follow
 * from Python's str methods, Jinja2's documented whitespace rules and transformers' tojson.
 */
class ChatTemplateTest {
  private static final List<Map<String, Object>> CHAT =
      List.of(msg("user", "Hi"), msg("assistant", "Yo"), msg("user", "Bye"));

  /** Renders a template over CHAT with d = {"a": 1, "b": "two", "c": [1, 2]}. */
  private static String r(String template) {
    return Chats.render(template, CHAT, false,
        vars("d", vars("a", 1, "b", "two", "c", List.of(1, 2)), "bos_token", "<s>"));
  }

  @Test
  void pythonStripFamily() {
    // strip() removes whitespace both sides; strip('x') only x; lstrip('\n') leading newlines;
    // rstrip('ba') strips any of b/a from the right: "abcab" -> "abc".
    assertEquals("a b|a|a\n|a|abc", r("{{ '  a b \\n'.strip() }}|{{ 'xxaxx'.strip('x') }}|"
        + "{{ '\\n\\na\\n'.lstrip('\\n') }}|{{ 'a  '.rstrip() }}|{{ 'abcab'.rstrip('ba') }}"));
    // Python's whitespace includes U+00A0 and U+3000.
    assertEquals("[x]", r("[{{ '\u00a0x\u3000 '.strip() }}]"));
  }

  @Test
  void pythonStartsEndsWith() {
    // A tuple argument means any of them; the optional start index slices first.
    assertEquals("True True True False",
        r("{{ 'hello'.startswith('he') }} {{ 'hello'.endswith(('x', 'lo')) }}"
            + " {{ 'hello'.startswith('l', 2) }} {{ 'abc'.endswith('c', 0, 2) }}"));
  }

  @Test
  void pythonSplitIsLiteral() {
    // split('.') is literal (not a regex); maxsplit limits; split() splits runs of whitespace;
    // lists print as Python reprs; [-1] is the last part.
    assertEquals("['a', 'b', 'c']|['a', 'b.c']|['a', 'b']|b|['a,b', 'c']",
        r("{{ 'a.b.c'.split('.') }}|{{ 'a.b.c'.split('.', 1) }}|{{ ' a  b '.split() }}|"
            + "{{ 'a</think>b'.split('</think>')[-1] }}|{{ 'a,b,c'.rsplit(',', 1) }}"));
  }

  @Test
  void pythonCaseAndSearchMethods() {
    // title(): a letter after a non-letter is upper-cased ("They'Re"); capitalize() lowers the rest.
    assertEquals("HELLO WORLD hello They'Re Bill'S 3Rd Hello world",
        r("{{ 'hello wORLD'.upper() }} {{ 'HeLLo'.lower() }} {{ \"they're bill's 3rd\".title() }}"
            + " {{ 'hELLO world'.capitalize() }}"));
    // replace all / first n; count non-overlapping; find index or -1; join.
    assertEquals("x-b-x x-b-a 2 2 -1 a, b",
        r("{{ 'a-b-a'.replace('a', 'x') }} {{ 'a-b-a'.replace('a', 'x', 1) }}"
            + " {{ 'banana'.count('an') }} {{ 'banana'.find('n') }} {{ 'banana'.find('z') }}"
            + " {{ ', '.join(['a', 'b']) }}"));
  }

  @Test
  void repetitionAndArithmetic() {
    // str * int repeats (either order, 0 gives ""); int * int multiplies; // floors; % takes the
    // divisor's sign; / is true division.
    assertEquals("---|ababab|6||-4 -2 2.5", r("{{ '-' * 3 }}|{{ 3 * 'ab' }}|{{ 2 * 3 }}|"
        + "{{ 'x' * 0 }}|{{ -7 // 2 }} {{ 7 % -3 }} {{ 10 / 4 }}"));
  }

  @Test
  void printsLikePythonStr() {
    // Booleans print True/False; floats as repr; lists as repr.
    assertEquals("True False 2.0 3.5 [1, 'a']", r("{{ true }} {{ 1 > 2 }} {{ 2.0 }} {{ 7 / 2 }}"
        + " {{ [1, 'a'] }}"));
  }

  @Test
  void slicesAndIndexing() {
    // messages[::-1] reverses; [1:] drops the first; [-1] is the last; strings slice by code point.
    assertEquals("user assistant user |2|Bye|ll|olleh|é",
        r("{% for m in messages[::-1] %}{{ m.role }} {% endfor %}|{{ messages[1:]|length }}|"
            + "{{ messages[-1].content }}|{{ 'hello'[2:4] }}|{{ 'hello'[::-1] }}|{{ 'héllo'[1] }}"));
  }

  @Test
  void notBindsLooserThanTestsAndComparisons() {
    // not x is defined == not (x is defined); not a == b == not (a == b).
    assertEquals("True False True True", r("{{ not foo is defined }} {{ not messages is defined }}"
        + " {{ not 1 == 2 }} {{ not messages|length > 5 }}"));
  }

  @Test
  void loopsNamespacesAndScoping() {
    // loop variables; namespace() survives the loop; a plain set inside a loop does not (Jinja2
    // scoping); keyword arguments take whole expressions (messages|length - 1 = 2).
    assertEquals("1/3TrueFalse,2/3FalseFalse,3/3FalseTrue,|True 2|out|2",
        r("{% for m in messages %}{{ loop.index }}/{{ loop.length }}{{ loop.first }}"
            + "{{ loop.last }},{% endfor %}|"
            + "{% set ns = namespace(found=false, n=0) %}{% for m in messages %}"
            + "{% if m.role == 'user' %}{% set ns.found = true %}{% set ns.n = ns.n + 1 %}"
            + "{% endif %}{% endfor %}{{ ns.found }} {{ ns.n }}|"
            + "{% set x = 'out' %}{% for m in messages %}{% set x = m.role %}{% endfor %}{{ x }}|"
            + "{% set ns2 = namespace(last=messages|length - 1) %}{{ ns2.last }}"));
  }

  @Test
  void loopFilterAndElse() {
    // The loop filter drops items before counting (loop.last is the last kept item); else runs
    // only for an empty loop.
    assertEquals("1a,2b.|none|user",
        r("{% for k, v in d|items if k != 'c' %}{{ loop.index }}{{ k }}"
            + "{{ '.' if loop.last else ',' }}{% endfor %}|"
            + "{% for m in messages if m.role == 'tool' %}x{% else %}none{% endfor %}|"
            + "{% for m in messages[:1] %}{{ m.role }}{% else %}none{% endfor %}"));
  }

  @Test
  void dictsAndTests() {
    // dict.items()/get() with default/keys(); iterating a dict yields keys; str is iterable and
    // a sequence but not a mapping.
    assertEquals("a=1;b=two;c=[1, 2]; 1 dflt|a,b,c,|True True False True",
        r("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {{ d.get('a') }}"
            + " {{ d.get('zz', 'dflt') }}|{% for k in d %}{{ k }},{% endfor %}|"
            + "{{ 'x' is iterable }} {{ 'x' is sequence }} {{ 'x' is mapping }} {{ d is mapping }}"));
  }

  @Test
  void tojsonIsPythonJsonDumps() {
    // ", " and ": " separators; ensure_ascii=False keeps "é"; control chars and quotes escaped;
    // indent switches to one item per line with "," separators; floats print as Python repr.
    assertEquals("{\"a\": 1, \"b\": \"two\", \"c\": [1, 2]}|"
            + "{\n  \"a\": 1,\n  \"b\": \"two\",\n  \"c\": [\n    1,\n    2\n  ]\n}|"
            + "[1, 2.5, \"é\\\"\\n\", null, true]|{}|1e-05 1e+20 0.1 3.0",
        r("{{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ [1, 2.5, 'é\"\\n', none, true]|tojson }}|"
            + "{{ {}|tojson }}|{{ 0.00001|tojson }} {{ 1e20|tojson }} {{ 0.1|tojson }}"
            + " {{ 3.0|tojson }}"));
  }

  @Test
  void trimAndLstripBlocks() {
    // trim_blocks removes the newline after a block tag; lstrip_blocks removes the indentation
    // before a block tag that starts its line, but not spaces before a tag in mid-line.
    assertEquals("  yes\nafter", r("{% if true %}\n  yes\n{% endif %}\nafter"));
    assertEquals("a b c\nd\n", r("a {% if true %}b{% endif %} c\n    {% if true %}\nd\n"
        + "    {% endif %}\n"));
    // {%+ keeps the indentation, +%} keeps the newline; comments vanish with the same rules;
    // {#- strips the whitespace before it.
    assertEquals("x\n    y\nz|ab\nc", r("x\n    {%+ if true %}y{% endif +%}\nz|"
        + "a   {#- c -#}   b\n  {# c #}\nc"));
    // A single trailing newline of the template is dropped (keep_trailing_newline=False);
    // CRLF becomes LF.
    assertEquals("a\nb", r("a\r\n{% if true %}\r\nb{% endif %}\n"));
    // Braces inside strings and dict literals do not end a tag.
    assertEquals("{{x}} %} 1", r("{{ '{{x}}' }} {{ \"%}\" }} {{ {'a': {'b': 1}}['a']['b'] }}"));
  }

  @Test
  void raiseExceptionCarriesTheTemplatesMessage() {
    TemplateRaisedException e = assertThrows(TemplateRaisedException.class,
        () -> r("{% if messages[0].role != 'system' %}"
            + "{{ raise_exception('Conversation must start with a system message') }}{% endif %}"));
    assertEquals("Conversation must start with a system message", e.templateMessage());
    assertEquals("Cannot render chat template: the template raised an error: Conversation must"
        + " start with a system message", e.getMessage());
    assertTrue(e instanceof EngineException);
  }

  @Test
  void strftimeNowReadsTheClock() {
    // The test clock is 2025-03-09 14:05 UTC (a Sunday, day 68).
    assertEquals("09 Mar 2025|2025-03-09 14:05:00 Sunday March 068 PM 02|True",
        r("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %j %p %I') }}|"
            + "{{ strftime_now is defined }}"));
  }

  @Test
  void variablesAreTopLevel() {
    ChatTemplate t = Chats.compile("{{ bos_token }}{% if enable_thinking is defined and"
        + " enable_thinking is false %}no-think{% endif %}{{ tools|length }}");
    assertEquals("<s>no-think1", t.render(CHAT, true, vars("bos_token", "<s>",
        "enable_thinking", false, "tools", List.of(Chats.weatherTool()))));
    assertEquals("0", t.render(CHAT, true, Map.of("tools", List.of())));
  }

  @Test
  void messageTextIsDataNeverTemplate() {
    // Jinjava can re-render output containing "{{"; user text must come out verbatim.
    assertEquals("{{ 7 * 7 }} {% if %}", Chats.render("{{ messages[0].content }}",
        List.of(msg("user", "{{ 7 * 7 }} {% if %}")), false, Map.of()));
  }

  @Test
  void sandboxRefusesJavaMethodsAndResources() {
    ChatTemplateException e =
        assertThrows(ChatTemplateException.class, () -> r("{{ 'a'.getClass() }}"));
    assertTrue(e.getMessage().contains("'str' object has no supported method 'getClass'"),
        e.getMessage());
    e = assertThrows(ChatTemplateException.class, () -> r("{{ messages.getClass().forName('x') }}"));
    assertTrue(e.getMessage().contains("'list' object has no supported method 'getClass'"),
        e.getMessage());
    // Python lists and dicts are immutable in transformers' sandbox.
    e = assertThrows(ChatTemplateException.class, () -> r("{{ messages.append(1) }}"));
    assertTrue(e.getMessage().contains("'list' object has no supported method 'append'"));
    e = assertThrows(ChatTemplateException.class, () -> r("{{ d.pop('a') }}"));
    assertTrue(e.getMessage().contains("'dict' object has no supported method 'pop'"));
    // Bean properties of Java objects read as undefined.
    assertEquals("[]", r("[{{ 'a'.bytes }}{{ 'a'.class }}]"));
    e = assertThrows(ChatTemplateException.class, () -> r("{% include 'log4j2-test.xml' %}"));
    assertTrue(e.getMessage().contains("cannot include, import or extend"), e.getMessage());
  }

  @Test
  void runawayTemplatesHitTheLimits() {
    ChatTemplate.Limits tight = new ChatTemplate.Limits(10_000, Duration.ofMillis(300));
    ChatTemplate loop = ChatTemplate.compile("{% for i in range(100000) %}{% for j in"
        + " range(100000) %}{% endfor %}{% endfor %}", tight, Chats.CLOCK);
    ChatTemplateException e =
        assertThrows(ChatTemplateException.class, () -> loop.render(CHAT, false, Map.of()));
    assertTrue(e.getMessage().contains("took longer than the limit"), e.getMessage());
    // Output and size limits must not depend on the machine's speed: a generous time limit.
    ChatTemplate.Limits small = new ChatTemplate.Limits(10_000, Duration.ofMinutes(5));
    ChatTemplate big = ChatTemplate.compile("{% for i in range(1000) %}{{ 'x' * 100 }}{% endfor %}",
        small, Chats.CLOCK);
    e = assertThrows(ChatTemplateException.class, () -> big.render(CHAT, false, Map.of()));
    assertTrue(e.getMessage().contains("output exceeds the size limit"), e.getMessage());
    ChatTemplate repeat = ChatTemplate.compile("{{ 'x' * 100000000 }}", small, Chats.CLOCK);
    e = assertThrows(ChatTemplateException.class, () -> repeat.render(CHAT, false, Map.of()));
    assertTrue(e.getMessage().contains("exceeds the output limit"), e.getMessage());
    ChatTemplate recursion = ChatTemplate.compile(
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", small, Chats.CLOCK);
    e = assertThrows(ChatTemplateException.class, () -> recursion.render(CHAT, false, Map.of()));
    assertTrue(e.getMessage().contains("Max recursion limit"), e.getMessage());
  }

  @Test
  void invalidInputsFailClearly() {
    ChatTemplateException e =
        assertThrows(ChatTemplateException.class, () -> Chats.compile("{% if true %}x"));
    assertTrue(e.getMessage().startsWith("Cannot compile chat template: "), e.getMessage());
    e = assertThrows(ChatTemplateException.class, () -> Chats.compile("  "));
    assertEquals("Cannot compile chat template: the source is blank", e.getMessage());
    e = assertThrows(ChatTemplateException.class,
        () -> Chats.compile("x").render(CHAT, true, Map.of("messages", List.of())));
    assertTrue(e.getMessage().contains("variable 'messages' is set by the request"));
    e = assertThrows(ChatTemplateException.class, () -> Chats.compile("x")
        .render(List.of(msg("user", new StringBuilder("hi"))), true, Map.of()));
    assertTrue(e.getMessage().contains("messages[0].content is a java.lang.StringBuilder"),
        e.getMessage());
  }

  @Test
  void missingTemplateIsItsOwnError() {
    MissingChatTemplateException e = new MissingChatTemplateException("runs:/abc/model");
    assertTrue(e.getMessage().startsWith("Cannot apply a chat template for model runs:/abc/model:"
        + " it has none"), e.getMessage());
    assertTrue(e instanceof ChatTemplateException);
  }
}
