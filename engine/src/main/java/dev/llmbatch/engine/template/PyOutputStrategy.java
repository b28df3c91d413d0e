package dev.llmbatch.engine.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.expression.ExpressionStrategy;
import com.hubspot.jinjava.mode.ExecutionMode;
import com.hubspot.jinjava.tree.output.RenderedOutputNode;
import com.hubspot.jinjava.tree.parse.ExpressionToken;

/**
 * Prints {@code {{ expr }}} as Python's {@code str()} would where Jinjava differs: {@code True}
 * and {@code False} for booleans, Python's float repr. Undefined values print as nothing, as in
 * Jinja2 (Jinjava cannot tell an explicit None from undefined, so None prints as nothing too).
 * No nested interpretation and no HTML escaping: message text is data.
 */
final class PyOutputStrategy implements ExpressionStrategy {
  private static final long serialVersionUID = 1L;

  /** The execution mode installing this strategy. */
  static final ExecutionMode MODE =
      new ExecutionMode() {
        @Override
        public void prepareContext(com.hubspot.jinjava.interpret.Context context) {
          context.setExpressionStrategy(new PyOutputStrategy());
        }
      };

  @Override
  public RenderedOutputNode interpretOutput(ExpressionToken master, JinjavaInterpreter interpreter) {
    Object value = interpreter.resolveELExpression(master.getExpr(), master.getLineNumber());
    return new RenderedOutputNode(str(value, interpreter));
  }

  static String str(Object value, JinjavaInterpreter interpreter) {
    if (value instanceof Boolean) {
      return (Boolean) value ? "True" : "False";
    }
    if (value instanceof Double || value instanceof Float) {
      double d = ((Number) value).doubleValue();
      if (Double.isNaN(d)) {
        return "nan";
      }
      if (Double.isInfinite(d)) {
        return d > 0 ? "inf" : "-inf";
      }
      return PyJson.floatRepr(d);
    }
    return interpreter.getAsString(value);
  }
}
