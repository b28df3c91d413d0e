package dev.llmbatch.engine.template;

import com.hubspot.jinjava.el.TruthyTypeConverter;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.IfTag;
import com.hubspot.jinjava.objects.SafeString;
import com.hubspot.jinjava.tree.TagNode;
import java.util.Collection;
import java.util.Map;

/**
 * Python's truthiness. Jinjava also treats the string "false" (any case) as false, so a message
 * whose content is "False" would vanish from {@code {% if message.content %}}; in Python only
 * empty strings, zero, None and empty containers are false.
 */
final class PyTruth {
  private PyTruth() {}

  static boolean of(Object v) {
    if (v == null) {
      return false;
    }
    if (v instanceof Boolean) {
      return (Boolean) v;
    }
    if (v instanceof Number) {
      return ((Number) v).doubleValue() != 0;
    }
    if (v instanceof CharSequence || v instanceof SafeString) {
      return !v.toString().isEmpty();
    }
    if (v instanceof Collection) {
      return !((Collection<?>) v).isEmpty();
    }
    if (v instanceof Map) {
      return !((Map<?, ?>) v).isEmpty();
    }
    if (v instanceof Object[]) {
      return ((Object[]) v).length != 0;
    }
    return true;
  }

  /** For {@code and}, {@code or}, {@code not} and inline {@code if} inside expressions. */
  static final class Converter extends TruthyTypeConverter {
    private static final long serialVersionUID = 1L;

    @Override
    protected Boolean coerceToBoolean(Object value) {
      return of(value);
    }
  }

  /** For {@code {% if %}} and {@code {% elif %}}. */
  static final class PyIfTag extends IfTag {
    private static final long serialVersionUID = 1L;

    @Override
    public boolean isPositiveIfElseNode(TagNode tagNode, JinjavaInterpreter interpreter) {
      return of(interpreter.resolveELExpression(tagNode.getHelpers(), tagNode.getLineNumber()));
    }
  }
}
