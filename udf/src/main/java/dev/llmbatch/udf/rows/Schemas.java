package dev.llmbatch.udf.rows;

import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The Spark schemas of everything written, exactly as in {@code spec/openai-shapes.md}: the
 * {@code response} struct of each endpoint and the per-row {@code error} struct.
 */
public final class Schemas {
  private Schemas() {}

  /** {@code struct<code:string, message:string>}. */
  public static final StructType ERROR = struct(
      field("code", DataTypes.StringType),
      field("message", DataTypes.StringType));

  /** {@code struct<prompt_tokens:bigint, completion_tokens:bigint, total_tokens:bigint>}. */
  public static final StructType USAGE = struct(
      field("prompt_tokens", DataTypes.LongType),
      field("completion_tokens", DataTypes.LongType),
      field("total_tokens", DataTypes.LongType));

  /** {@code struct<prompt_tokens:bigint, total_tokens:bigint>}. */
  public static final StructType EMBEDDING_USAGE = struct(
      field("prompt_tokens", DataTypes.LongType),
      field("total_tokens", DataTypes.LongType));

  /** The {@code llm/v1/chat} response. */
  public static final StructType CHAT_RESPONSE = struct(
      field("id", DataTypes.StringType),
      field("object", DataTypes.StringType),
      field("created", DataTypes.LongType),
      field("model", DataTypes.StringType),
      field("system_fingerprint", DataTypes.StringType),
      field("choices", array(struct(
          field("index", DataTypes.IntegerType),
          field("message", struct(
              field("role", DataTypes.StringType),
              field("content", DataTypes.StringType))),
          field("finish_reason", DataTypes.StringType)))),
      field("usage", USAGE));

  /** The {@code llm/v1/completions} response ({@code object: "text_completion"}). */
  public static final StructType COMPLETION_RESPONSE = struct(
      field("id", DataTypes.StringType),
      field("object", DataTypes.StringType),
      field("created", DataTypes.LongType),
      field("model", DataTypes.StringType),
      field("system_fingerprint", DataTypes.StringType),
      field("choices", array(struct(
          field("index", DataTypes.IntegerType),
          field("text", DataTypes.StringType),
          field("finish_reason", DataTypes.StringType)))),
      field("usage", USAGE));

  /** The {@code llm/v1/embeddings} response, one per row. */
  public static final StructType EMBEDDING_RESPONSE = struct(
      field("object", DataTypes.StringType),
      field("data", array(struct(
          field("object", DataTypes.StringType),
          field("index", DataTypes.IntegerType),
          field("embedding", array(DataTypes.FloatType))))),
      field("model", DataTypes.StringType),
      field("usage", EMBEDDING_USAGE));

  /** The response struct of an endpoint. */
  public static StructType response(Endpoint endpoint) {
    return switch (endpoint) {
      case CHAT -> CHAT_RESPONSE;
      case COMPLETIONS -> COMPLETION_RESPONSE;
      case EMBEDDINGS -> EMBEDDING_RESPONSE;
    };
  }

  /** What a SQL function returns: {@code struct<response: ..., error: struct<code, message>>}. */
  public static StructType result(Endpoint endpoint) {
    return struct(field("response", response(endpoint)), field("error", ERROR));
  }

  /**
   * The output of a transform: the input columns, then {@code responseCol} and {@code errorCol}.
   * Fails when those names are taken, naming the clash.
   */
  public static StructType output(StructType input, Endpoint endpoint, String responseCol,
      String errorCol) {
    for (String name : new String[] {responseCol, errorCol}) {
      for (String existing : input.fieldNames()) {
        if (existing.equalsIgnoreCase(name)) {
          throw new dev.llmbatch.udf.UdfException("Cannot add output column " + name
              + ": the input already has a column " + existing
              + "; drop it or choose another output column name");
        }
      }
    }
    return input.add(field(responseCol, response(endpoint))).add(field(errorCol, ERROR));
  }

  private static StructField field(String name, DataType type) {
    return new StructField(name, type, true, Metadata.empty());
  }

  private static StructType struct(StructField... fields) {
    return new StructType(fields);
  }

  private static ArrayType array(DataType element) {
    return DataTypes.createArrayType(element, true);
  }
}
