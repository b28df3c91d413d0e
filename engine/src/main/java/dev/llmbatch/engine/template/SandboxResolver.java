package dev.llmbatch.engine.template;

import com.hubspot.jinjava.el.TypeConvertingMapELResolver;
import com.hubspot.jinjava.el.ext.AbstractCallableMethod;
import com.hubspot.jinjava.el.ext.JinjavaBeanELResolver;
import com.hubspot.jinjava.el.ext.JinjavaListELResolver;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.objects.SafeString;
import com.hubspot.jinjava.util.ForLoop;
import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import jinjava.javax.el.ArrayELResolver;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * The only way a template reaches objects: Python's {@code str}, {@code dict} and {@code list}
 * methods implemented here, item and attribute lookup on dicts and lists, {@code loop.*}, and
 * Jinjava's own filter/test plumbing. Any other method call fails the render, as calling an
 * unsafe attribute fails in transformers' {@code ImmutableSandboxedEnvironment}; attributes of
 * other Java objects (strings, numbers...) read as undefined, so no template reaches a Java
 * method or class.
 */
final class SandboxResolver extends ELResolver {

  /** The resolver chain to install with {@code JinjavaConfig.withElResolver}. */
  static ELResolver chain() {
    CompositeELResolver chain = new CompositeELResolver();
    chain.add(new SandboxResolver());
    chain.add(new ArrayELResolver(true));
    chain.add(new JinjavaListELResolver(true));
    chain.add(new TypeConvertingMapELResolver(true));
    chain.add(new JinjavaBeanELResolver(true));
    return chain;
  }

  @Override
  public Object getValue(ELContext context, Object base, Object property) {
    if (base instanceof SafeString) {
      base = base.toString();
    }
    if (base == null || base instanceof Map || base instanceof List || base instanceof ForLoop
        || base.getClass().isArray()) {
      return null; // resolved by the rest of the chain
    }
    context.setPropertyResolved(true);
    if (base instanceof String && property instanceof Number) {
      return charAt((String) base, ((Number) property).intValue());
    }
    if (base instanceof String && property instanceof String
        && ((String) property).matches("-?[0-9]{1,9}")) {
      // Jinjava passes s[1] as the property name "1"
      return charAt((String) base, Integer.parseInt((String) property));
    }
    return null; // Python: an attribute the object does not have is undefined
  }

  private static String charAt(String s, int index) {
    int n = s.codePointCount(0, s.length());
    int i = index < 0 ? index + n : index;
    if (i < 0 || i >= n) {
      throw RenderState.fail("Cannot render chat template: string index " + index
          + " out of range for a string of length " + n);
    }
    int at = s.offsetByCodePoints(0, i);
    return new String(Character.toChars(s.codePointAt(at)));
  }

  @Override
  public Object invoke(
      ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
    if (base instanceof Filter || base instanceof ExpTest || base instanceof AbstractCallableMethod
        || (base instanceof ForLoop && "cycle".equals(method))) {
      return null; // Jinjava's own filter, test, macro and loop.cycle calls
    }
    Object[] args = params == null ? new Object[0] : params;
    String name = Objects.toString(method);
    Object result;
    if (base instanceof String || base instanceof SafeString) {
      result = PyMethods.string(base.toString(), name, args);
    } else if (base instanceof Map) {
      result = PyMethods.dict((Map<?, ?>) base, name, args);
    } else if (base instanceof List) {
      result = PyMethods.list((List<?>) base, name, args);
    } else {
      throw RenderState.fail("Cannot render chat template: calling ." + name + "() on "
          + PyMethods.typeName(base) + " is not allowed (templates are sandboxed)");
    }
    context.setPropertyResolved(true);
    return result;
  }

  @Override
  public Class<?> getType(ELContext context, Object base, Object property) {
    return null;
  }

  @Override
  public void setValue(ELContext context, Object base, Object property, Object value) {
    // not resolved here: the chain's map resolver handles namespace attributes
  }

  @Override
  public boolean isReadOnly(ELContext context, Object base, Object property) {
    return true;
  }

  @Override
  public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
    return null;
  }

  @Override
  public Class<?> getCommonPropertyType(ELContext context, Object base) {
    return null;
  }

  static List<Object> listOf(Object value) {
    if (value instanceof Collection) {
      return new ArrayList<>((Collection<?>) value);
    }
    return List.of(value);
  }
}
