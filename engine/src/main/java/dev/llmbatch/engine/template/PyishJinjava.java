package dev.llmbatch.engine.template;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.ExtendedSyntaxBuilder;
import com.hubspot.jinjava.el.TruthyTypeConverter;
import java.util.Collection;
import java.util.List;
import jinjava.de.odysseus.el.ExpressionFactoryImpl;
import jinjava.de.odysseus.el.misc.NumberOperations;
import jinjava.de.odysseus.el.misc.TypeConverter;
import jinjava.de.odysseus.el.tree.TreeStore;
import jinjava.de.odysseus.el.tree.impl.Cache;
import jinjava.de.odysseus.el.tree.impl.Parser;
import jinjava.de.odysseus.el.tree.impl.ast.AstBinary;
import jinjava.javax.el.ExpressionFactory;

/**
 * Jinjava with Python's {@code *}: {@code '-' * 3} repeats a string (and a list), where plain
 * Jinjava only multiplies numbers. The expression parser is Jinjava's own with that one operator
 * swapped.
 */
final class PyishJinjava extends Jinjava {
  private final ExpressionFactory expressionFactory;

  PyishJinjava(JinjavaConfig config, long maxRepeatChars) {
    super(config);
    TypeConverter converter = new TruthyTypeConverter();
    TreeStore store = new TreeStore(new PyishSyntaxBuilder(maxRepeatChars), new Cache(100));
    this.expressionFactory = new ExpressionFactoryImpl(store, converter);
  }

  @Override
  public ExpressionFactory getExpressionFactory() {
    return expressionFactory;
  }

  /** Builds {@link PyishParser}s, with method calls and varargs enabled as Jinjava does. */
  static final class PyishSyntaxBuilder extends ExtendedSyntaxBuilder {
    private static final long serialVersionUID = 1L;
    private final long maxRepeatChars;

    PyishSyntaxBuilder(long maxRepeatChars) {
      super(Feature.METHOD_INVOCATIONS, Feature.VARARGS);
      this.maxRepeatChars = maxRepeatChars;
    }

    @Override
    protected Parser createParser(String expression) {
      return new PyishParser(this, expression, new RepeatOperator(maxRepeatChars));
    }
  }

  /** Python's {@code %} on numbers: the result takes the divisor's sign ({@code 7 % -3 == -2}). */
  static final AstBinary.Operator FLOOR_MOD =
      new AstBinary.SimpleOperator() {
        @Override
        protected Object apply(TypeConverter converter, Object a, Object b) {
          if (isIntegral(a) && isIntegral(b)) {
            long d = ((Number) b).longValue();
            if (d == 0) {
              throw RenderState.fail("Cannot render chat template: integer modulo by zero");
            }
            return Math.floorMod(((Number) a).longValue(), d);
          }
          if (a instanceof Number && b instanceof Number) {
            double x = ((Number) a).doubleValue();
            double y = ((Number) b).doubleValue();
            return x - y * Math.floor(x / y);
          }
          return NumberOperations.mod(converter, a, b);
        }

        @Override
        public String toString() {
          return "%";
        }
      };

  private static boolean isIntegral(Object o) {
    return o instanceof Long || o instanceof Integer || o instanceof Short || o instanceof Byte;
  }

  /** Python's {@code *}: str or list times int repeats (n <= 0 gives empty), else numeric. */
  static final class RepeatOperator extends AstBinary.SimpleOperator {
    private final long maxRepeatChars;

    RepeatOperator(long maxRepeatChars) {
      this.maxRepeatChars = maxRepeatChars;
    }

    @Override
    protected Object apply(TypeConverter converter, Object a, Object b) {
      if (isSequence(a) && isInt(b)) {
        return repeat(a, ((Number) b).longValue());
      }
      if (isInt(a) && isSequence(b)) {
        return repeat(b, ((Number) a).longValue());
      }
      return NumberOperations.mul(converter, a, b);
    }

    private static boolean isSequence(Object o) {
      return o instanceof CharSequence || o instanceof List;
    }

    private static boolean isInt(Object o) {
      return o instanceof Long || o instanceof Integer || o instanceof Short;
    }

    private Object repeat(Object seq, long times) {
      long n = Math.max(0, times);
      if (seq instanceof CharSequence) {
        String s = seq.toString();
        if (s.length() * n > maxRepeatChars) {
          throw RenderState.fail("Cannot render chat template: string repetition of "
              + s.length() + " chars x " + n + " exceeds the output limit");
        }
        return s.repeat((int) n);
      }
      Collection<?> items = (Collection<?>) seq;
      if (items.size() * n > maxRepeatChars) {
        throw RenderState.fail("Cannot render chat template: list repetition exceeds the limit");
      }
      java.util.ArrayList<Object> out = new java.util.ArrayList<>();
      for (long i = 0; i < n; i++) {
        out.addAll(items);
      }
      return out;
    }

    @Override
    public String toString() {
      return "*";
    }
  }
}
