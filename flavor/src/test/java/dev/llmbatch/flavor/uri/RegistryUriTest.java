package dev.llmbatch.flavor.uri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmbatch.flavor.FlavorException;
import dev.llmbatch.flavor.uri.RegistryUri.Selector;
import org.junit.jupiter.api.Test;

class RegistryUriTest {
  @Test
  void parsesEveryForm() {
    assertEquals(new RegistryUri("chat", Selector.VERSION, "3", null, ""), RegistryUri.parse("models:/chat/3"));
    assertEquals(new RegistryUri("chat", Selector.VERSION, "3", null, ""), RegistryUri.parse("models:/chat/003/"));
    assertEquals(new RegistryUri("chat", Selector.STAGE, "Production", null, ""),
        RegistryUri.parse("models:/chat/Production"));
    assertEquals(new RegistryUri("chat", Selector.LATEST, "latest", null, ""), RegistryUri.parse("models:/chat/LATEST"));
    assertEquals(new RegistryUri("chat", Selector.ALIAS, "champion", null, "sub/dir"),
        RegistryUri.parse("models:/chat@champion/sub/dir"));
    assertEquals(new RegistryUri(null, null, null, "m-0123456789abcdef0123456789abcdef", ""),
        RegistryUri.parse("models:/m-0123456789abcdef0123456789abcdef"));
    assertEquals(new RegistryUri("chat", Selector.VERSION, "1", null, "model/config.json"),
        RegistryUri.parse("models:/chat/1/model/config.json"));
  }

  @Test
  void rejectsMalformedUrisNamingThem() {
    for (String bad : new String[] {"models:/", "models:/chat", "models:/@a", "models:/chat@",
        "models://profile/chat/1", "runs:/x"}) {
      String m = assertThrows(FlavorException.class, () -> RegistryUri.parse(bad)).getMessage();
      assertTrue(m.contains(bad) && m.startsWith("Invalid model URI"), m);
    }
  }
}
