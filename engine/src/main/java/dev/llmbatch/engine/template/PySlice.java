package dev.llmbatch.engine.template;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import jinjava.de.odysseus.el.tree.Bindings;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstRightValue;
import jinjava.javax.el.ELContext;

/** {@code seq[start:stop:step]} with Python's semantics on lists and strings (code points). */
final class PySlice extends AstRightValue {
  private final AstNode prefix;
  private final AstNode start; // nullable
  private final AstNode stop; // nullable
  private final AstNode step; // nullable

  PySlice(AstNode prefix, AstNode start, AstNode stop, AstNode step) {
    this.prefix = prefix;
    this.start = start;
    this.stop = stop;
    this.step = step;
  }

  @Override
  public Object eval(Bindings bindings, ELContext context) {
    Object base = prefix.eval(bindings, context);
    Integer a = index(start, bindings, context);
    Integer b = index(stop, bindings, context);
    Integer c = index(step, bindings, context);
    if (base instanceof String) {
      int[] cps = ((String) base).codePoints().toArray();
      StringBuilder out = new StringBuilder();
      for (int i : positions(cps.length, a, b, c)) {
        out.appendCodePoint(cps[i]);
      }
      return out.toString();
    }
    List<Object> items;
    if (base instanceof Collection) {
      items = new ArrayList<>((Collection<?>) base);
    } else if (base instanceof Object[]) {
      items = List.of((Object[]) base);
    } else {
      throw RenderState.fail("Cannot render chat template: cannot slice " + PyMethods.typeName(base)
          + " (" + prefix + ")");
    }
    List<Object> out = new ArrayList<>();
    for (int i : positions(items.size(), a, b, c)) {
      out.add(items.get(i));
    }
    return out;
  }

  private static Integer index(AstNode node, Bindings bindings, ELContext context) {
    if (node == null) {
      return null;
    }
    Object v = node.eval(bindings, context);
    if (v == null) {
      return null;
    }
    if (!(v instanceof Number)) {
      throw RenderState.fail("Cannot render chat template: slice indices must be integers or"
          + " None, got " + PyMethods.typeName(v));
    }
    return ((Number) v).intValue();
  }

  /** The indices {@code slice(a, b, c).indices(n)} visits. */
  static int[] positions(int n, Integer a, Integer b, Integer c) {
    int step = c == null ? 1 : c;
    if (step == 0) {
      throw RenderState.fail("Cannot render chat template: slice step cannot be zero");
    }
    int lo;
    int hi;
    if (step > 0) {
      lo = a == null ? 0 : clamp(a, n, 0, n);
      hi = b == null ? n : clamp(b, n, 0, n);
    } else {
      lo = a == null ? n - 1 : clamp(a, n, -1, n - 1);
      hi = b == null ? -1 : clamp(b, n, -1, n - 1);
    }
    int count = step > 0 ? Math.max(0, (hi - lo + step - 1) / step)
        : Math.max(0, (lo - hi - step - 1) / -step);
    int[] out = new int[count];
    for (int k = 0; k < count; k++) {
      out[k] = lo + k * step;
    }
    return out;
  }

  private static int clamp(int i, int n, int min, int max) {
    int j = i < 0 ? i + n : i;
    return Math.max(min, Math.min(max, j));
  }

  @Override
  public void appendStructure(StringBuilder builder, Bindings bindings) {
    prefix.appendStructure(builder, bindings);
    builder.append("[");
    if (start != null) {
      start.appendStructure(builder, bindings);
    }
    builder.append(":");
    if (stop != null) {
      stop.appendStructure(builder, bindings);
    }
    builder.append(":");
    if (step != null) {
      step.appendStructure(builder, bindings);
    }
    builder.append("]");
  }

  @Override
  public String toString() {
    return "[::]";
  }

  @Override
  public int getCardinality() {
    return 4;
  }

  @Override
  public AstNode getChild(int i) {
    return i == 0 ? prefix : i == 1 ? start : i == 2 ? stop : i == 3 ? step : null;
  }
}
