package dev.llmbatch.engine.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.llmbatch.engine.EngineException;
import org.junit.jupiter.api.Test;

class PromptTemplateTest {
  @Test
  void formatsLikePythonStrFormat() {
    // "Q: {prompt} {{json}}".format(prompt="hi") == "Q: hi {json}"
    assertEquals("Q: hi {json}", PromptTemplate.of("Q: {prompt} {{json}}").apply("hi"));
    assertEquals("hi hi", PromptTemplate.of("{prompt} {prompt}").apply("hi"));
    assertEquals("a{b}", PromptTemplate.of(null).apply("a{b}"));
    assertFalse(PromptTemplate.of(null).isSet());
  }

  @Test
  void otherFieldsAndStrayBracesFailAtLoad() {
    assertThrows(EngineException.class, () -> PromptTemplate.of("{prompt} {name}"));
    assertThrows(EngineException.class, () -> PromptTemplate.of("{prompt} }"));
  }
}
