package dev.llmbatch.engine.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.tree.parse.TagToken;
import com.hubspot.jinjava.util.ForLoop;
import com.hubspot.jinjava.util.ObjectIterator;
import com.hubspot.jinjava.util.ObjectTruthValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.commons.lang3.tuple.Pair;

/**
 * Jinjava's {@code for} plus Jinja2's loop filter, {@code {% for k, v in d|items if k != "x" %}}:
 * items failing the condition are dropped before the loop starts, so {@code loop.index},
 * {@code loop.last} and friends count only the kept ones, as in Jinja2.
 */
final class FilteredForTag extends ForTag {
  private static final long serialVersionUID = 1L;

  @Override
  public String interpretUnchecked(TagNode tagNode, JinjavaInterpreter interpreter) {
    Pair<List<String>, String> varsAndExpression =
        getLoopVarsAndExpression((TagToken) tagNode.getMaster());
    String expression = varsAndExpression.getRight();
    int split = topLevelIf(expression);
    if (split < 0) {
      return super.interpretUnchecked(tagNode, interpreter);
    }
    List<String> vars = varsAndExpression.getLeft();
    String condition = expression.substring(split + 4).trim();
    Object collection = interpreter.resolveELExpression(
        expression.substring(0, split).trim(), tagNode.getLineNumber());
    List<Object> kept = new ArrayList<>();
    ForLoop loop = ObjectIterator.getLoop(collection);
    try (JinjavaInterpreter.InterpreterScopeClosable scope = interpreter.enterScope()) {
      while (loop.hasNext()) {
        Object item = loop.next();
        bind(interpreter, vars, item);
        if (ObjectTruthValue.evaluate(
            interpreter.resolveELExpression(condition, tagNode.getLineNumber()))) {
          kept.add(item);
        }
      }
    }
    return renderForCollection(tagNode, interpreter, vars, kept);
  }

  /** Binds loop variables as the for loop does: one name, or unpacking a pair or list. */
  private static void bind(JinjavaInterpreter interpreter, List<String> vars, Object item) {
    if (vars.size() == 1) {
      interpreter.getContext().put(vars.get(0), item);
      return;
    }
    List<?> parts;
    if (item instanceof Map.Entry) {
      Map.Entry<?, ?> e = (Map.Entry<?, ?>) item;
      parts = java.util.Arrays.asList(e.getKey(), e.getValue());
    } else if (item instanceof List) {
      parts = (List<?>) item;
    } else {
      throw RenderState.fail("Cannot render chat template: cannot unpack "
          + PyMethods.typeName(item) + " into " + vars);
    }
    for (int i = 0; i < vars.size(); i++) {
      interpreter.getContext().put(vars.get(i), i < parts.size() ? parts.get(i) : null);
    }
  }

  /** The index of " if " outside strings and brackets, or -1. */
  static int topLevelIf(String s) {
    int depth = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\'' || c == '"') {
        int j = i + 1;
        while (j < s.length() && s.charAt(j) != c) {
          j += s.charAt(j) == '\\' ? 2 : 1;
        }
        i = j;
      } else if (c == '(' || c == '[' || c == '{') {
        depth++;
      } else if (c == ')' || c == ']' || c == '}') {
        depth--;
      } else if (depth == 0 && Character.isWhitespace(c) && s.startsWith("if", i + 1)
          && i + 3 < s.length() && Character.isWhitespace(s.charAt(i + 3))) {
        return i;
      }
    }
    return -1;
  }
}
