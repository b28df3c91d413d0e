package dev.llmbatch.engine.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.Node;
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
 * Jinjava's {@code for} plus two Jinja2 features it lacks: the loop filter,
 * {@code {% for k, v in d|items if k != "x" %}} (items failing the condition are dropped before
 * the loop starts, so {@code loop.index}, {@code loop.last} and friends count only the kept ones),
 * and the {@code {% else %}} branch of an empty loop.
 */
final class FilteredForTag extends ForTag {
  private static final long serialVersionUID = 1L;

  @Override
  public String interpretUnchecked(TagNode tagNode, JinjavaInterpreter interpreter) {
    Pair<List<String>, String> varsAndExpression =
        getLoopVarsAndExpression((TagToken) tagNode.getMaster());
    List<String> vars = varsAndExpression.getLeft();
    String expression = varsAndExpression.getRight();
    int split = topLevelIf(expression);
    List<Node> elseBranch = detachElse(tagNode);
    Object collection = interpreter.resolveELExpression(
        split < 0 ? expression : expression.substring(0, split).trim(), tagNode.getLineNumber());
    if (split >= 0) {
      collection = filter(tagNode, interpreter, vars, collection,
          expression.substring(split + 4).trim());
    }
    if (elseBranch != null && !ObjectIterator.getLoop(collection).hasNext()) {
      StringBuilder out = new StringBuilder();
      for (Node node : elseBranch) {
        out.append(node.render(interpreter).getValue());
      }
      return out.toString();
    }
    return renderForCollection(tagNode, interpreter, vars, collection);
  }

  /**
   * Jinja2's {@code {% for %}...{% else %}...{% endfor %}}: the else part renders only when the
   * loop had nothing to iterate. Jinjava keeps it inside the loop body, so it is cut off here
   * (the parsed tree belongs to this render alone).
   */
  private static List<Node> detachElse(TagNode tagNode) {
    List<Node> children = tagNode.getChildren();
    for (int i = 0; i < children.size(); i++) {
      Node child = children.get(i);
      if (child instanceof TagNode && "else".equals(((TagNode) child).getName())) {
        List<Node> elseBranch = new ArrayList<>(children.subList(i + 1, children.size()));
        children.subList(i, children.size()).clear();
        return elseBranch;
      }
    }
    return null;
  }

  private List<Object> filter(TagNode tagNode, JinjavaInterpreter interpreter, List<String> vars,
      Object collection, String condition) {
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
    return kept;
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
