package dev.llmbatch.engine.api;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The one Jackson configuration for OpenAI objects: unknown request fields ignored (clients send
 * {@code user}, {@code metadata}, ...), no type coercion from strings to numbers, compact output.
 * Parse failures become {@link ApiException}s with OpenAI's codes.
 */
public final class OpenAiJson {
  private static final ObjectMapper MAPPER = JsonMapper.builder()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
      .disable(com.fasterxml.jackson.databind.MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .build();

  private OpenAiJson() {}

  /** The shared mapper (thread-safe). */
  public static ObjectMapper mapper() {
    return MAPPER;
  }

  /** One line of JSON text as a tree; a syntax error is {@code invalid_json}. */
  public static JsonNode parseTree(String json) {
    try {
      return MAPPER.readTree(json);
    } catch (JacksonException e) {
      throw new ApiException(new ApiError(ApiError.INVALID_JSON,
          "Cannot parse JSON: " + e.getOriginalMessage()), e);
    }
  }

  /**
   * A request object from a JSON tree. Wrong types and missing fields are
   * {@code invalid_request_error}s naming the field; a validation failure keeps its own error.
   */
  public static <T> T read(JsonNode node, Class<T> type) {
    if (node == null || !node.isObject()) {
      throw ApiException.invalidRequest("Invalid request body: expected a JSON object, got "
          + (node == null ? "nothing" : node.getNodeType().toString().toLowerCase()));
    }
    try {
      return MAPPER.treeToValue(node, type);
    } catch (ValueInstantiationException e) {
      Throwable c = e.getCause();
      if (c instanceof ApiException a) {
        throw a;
      }
      throw ApiException.invalidRequest("Invalid request: " + e.getOriginalMessage());
    } catch (MismatchedInputException e) {
      throw ApiException.invalidRequest("Invalid request field '" + path(e) + "': "
          + e.getOriginalMessage());
    } catch (JsonParseException e) {
      throw new ApiException(new ApiError(ApiError.INVALID_JSON,
          "Cannot parse JSON: " + e.getOriginalMessage()), e);
    } catch (JacksonException e) {
      throw ApiException.invalidRequest("Invalid request: " + e.getOriginalMessage());
    }
  }

  /** Compact JSON text of a response object. */
  public static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JacksonException e) {
      throw new IllegalStateException("Cannot write JSON for " + value.getClass().getName(), e);
    }
  }

  private static String path(MismatchedInputException e) {
    StringBuilder sb = new StringBuilder();
    for (var ref : e.getPath()) {
      if (ref.getFieldName() != null) {
        if (sb.length() > 0) {
          sb.append('.');
        }
        sb.append(ref.getFieldName());
      } else if (ref.getIndex() >= 0) {
        sb.append('[').append(ref.getIndex()).append(']');
      }
    }
    return sb.length() == 0 ? "(root)" : sb.toString();
  }
}
