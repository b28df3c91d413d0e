package dev.llmbatch.engine.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RequestKeyTest {
  @Test
  void idsAndSeedsAreDeterministicPerKeyAndDistinctAcrossKeys() {
    RequestKey a = RequestKey.of("row-1");
    assertEquals(a.id("chatcmpl-"), RequestKey.of("row-1").id("chatcmpl-"));
    assertNotEquals(a.id("chatcmpl-"), RequestKey.of("row-2").id("chatcmpl-"));
    assertTrue(a.id("chatcmpl-").matches("chatcmpl-[0-9a-f]{24}"), a.id("chatcmpl-"));
    assertEquals(a.seed(null), RequestKey.of("row-1").seed(null));
    assertNotEquals(a.seed(null), RequestKey.of("row-2").seed(null));
    assertNotEquals(a.seed(null), new RequestKey("row-1", 42).seed(null));
  }

  @Test
  void aRequestSeedWinsAsGiven() {
    assertEquals(123L, RequestKey.of("row-1").seed(123L));
    assertEquals(123L, new RequestKey("other", 9).seed(123L));
  }
}
