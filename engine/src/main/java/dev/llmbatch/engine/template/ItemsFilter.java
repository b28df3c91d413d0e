package dev.llmbatch.engine.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Jinja2's {@code items} filter: a mapping's (key, value) pairs, in order (Mistral v0.3 uses it). */
final class ItemsFilter implements Filter {
  @Override
  public String getName() {
    return "items";
  }

  @Override
  public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
    if (var == null) {
      return List.of(); // Jinja2: an undefined value has no items
    }
    if (!(var instanceof Map)) {
      throw RenderState.fail("Cannot render chat template: items filter needs a mapping, got "
          + PyMethods.typeName(var));
    }
    List<Object> items = new ArrayList<>();
    for (Map.Entry<?, ?> e : ((Map<?, ?>) var).entrySet()) {
      items.add(new AbstractMap.SimpleImmutableEntry<>(e.getKey(), e.getValue()));
    }
    return items;
  }
}
