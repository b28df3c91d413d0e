package dev.llmbatch.udf.rows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Converts between Spark values and JSON trees. Requests go Spark → JSON once, so a row given as
 * {@code array<struct<role,content>>}, as a {@code map} or as a JSON string is validated by one
 * code path; responses go JSON → Spark following the exact output schema.
 */
public final class JsonRows {
  /** Shared mapper: map keys sorted so request hashes do not depend on column order. */
  public static final ObjectMapper MAPPER = new ObjectMapper()
      .configure(com.fasterxml.jackson.databind.SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private JsonRows() {}

  /**
   * A Spark value (as Catalyst hands it to Java: {@code Row}, {@code scala.collection.Seq},
   * {@code scala.collection.Map}, boxed primitives, arrays) as JSON. Struct fields that are null
   * are left out, so an absent {@code name} never reaches the engine as {@code "name": null}.
   */
  public static JsonNode toJson(Object value) {
    if (value == null) {
      return NODES.nullNode();
    }
    if (value instanceof JsonNode n) {
      return n;
    }
    if (value instanceof String s) {
      return NODES.textNode(s);
    }
    if (value instanceof Boolean b) {
      return NODES.booleanNode(b);
    }
    if (value instanceof Integer || value instanceof Short || value instanceof Byte) {
      return NODES.numberNode(((Number) value).intValue());
    }
    if (value instanceof Long l) {
      return NODES.numberNode(l);
    }
    if (value instanceof Float f) {
      return NODES.numberNode(f);
    }
    if (value instanceof Double d) {
      return NODES.numberNode(d);
    }
    if (value instanceof BigDecimal bd) {
      return NODES.numberNode(bd);
    }
    if (value instanceof Row row) {
      ObjectNode o = NODES.objectNode();
      StructType schema = row.schema();
      for (int i = 0; i < row.length(); i++) {
        String name = schema != null ? schema.fields()[i].name() : "_" + i;
        if (!row.isNullAt(i)) {
          o.set(name, toJson(row.get(i)));
        }
      }
      return o;
    }
    if (value instanceof scala.collection.Map<?, ?> m) {
      ObjectNode o = NODES.objectNode();
      scala.collection.Iterator<?> it = m.iterator();
      while (it.hasNext()) {
        scala.Tuple2<?, ?> kv = (scala.Tuple2<?, ?>) it.next();
        if (kv._2() != null) {
          o.set(String.valueOf(kv._1()), toJson(kv._2()));
        }
      }
      return o;
    }
    if (value instanceof Map<?, ?> m) {
      ObjectNode o = NODES.objectNode();
      m.forEach((k, v) -> {
        if (v != null) {
          o.set(String.valueOf(k), toJson(v));
        }
      });
      return o;
    }
    if (value instanceof scala.collection.Iterable<?> seq) {
      ArrayNode a = NODES.arrayNode();
      scala.collection.Iterator<?> it = seq.iterator();
      while (it.hasNext()) {
        a.add(toJson(it.next()));
      }
      return a;
    }
    if (value instanceof Iterable<?> list) {
      ArrayNode a = NODES.arrayNode();
      list.forEach(v -> a.add(toJson(v)));
      return a;
    }
    if (value instanceof Object[] arr) {
      ArrayNode a = NODES.arrayNode();
      for (Object v : arr) {
        a.add(toJson(v));
      }
      return a;
    }
    // Dates, timestamps, binary: their text form; a validator will reject them where a string is wrong.
    return NODES.textNode(String.valueOf(value));
  }

  /**
   * A JSON tree as the Spark value of {@code type}: {@link Row} for structs (fields by name,
   * absent ones null), {@code scala.collection.immutable.Seq} for arrays, boxed primitives.
   */
  public static Object fromJson(JsonNode node, DataType type) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return null;
    }
    if (type instanceof StructType st) {
      StructField[] fields = st.fields();
      Object[] values = new Object[fields.length];
      for (int i = 0; i < fields.length; i++) {
        values[i] = fromJson(node.get(fields[i].name()), fields[i].dataType());
      }
      return RowFactory.create(values);
    }
    if (type instanceof ArrayType at) {
      List<Object> out = new ArrayList<>(node.size());
      for (JsonNode e : node) {
        out.add(fromJson(e, at.elementType()));
      }
      return seq(out);
    }
    if (type instanceof StringType) {
      return node.isTextual() ? node.textValue() : node.toString();
    }
    if (type instanceof LongType) {
      return node.asLong();
    }
    if (type instanceof IntegerType) {
      return node.asInt();
    }
    if (type instanceof FloatType) {
      return (float) node.asDouble();
    }
    if (type instanceof DoubleType) {
      return node.asDouble();
    }
    if (type instanceof BooleanType) {
      return node.asBoolean();
    }
    throw new IllegalArgumentException("Cannot convert JSON to Spark type " + type.simpleString());
  }

  /** The JSON text with object keys sorted at every level: the canonical form hashed for row keys. */
  public static String canonical(JsonNode node) {
    return sorted(node).toString();
  }

  private static JsonNode sorted(JsonNode node) {
    if (node.isObject()) {
      TreeMap<String, JsonNode> m = new TreeMap<>();
      node.fields().forEachRemaining(e -> m.put(e.getKey(), sorted(e.getValue())));
      ObjectNode o = NODES.objectNode();
      m.forEach(o::set);
      return o;
    }
    if (node.isArray()) {
      ArrayNode a = NODES.arrayNode();
      node.forEach(e -> a.add(sorted(e)));
      return a;
    }
    return node;
  }

  /** A Java list as the immutable Scala {@code Seq} Catalyst expects for arrays. */
  public static scala.collection.immutable.Seq<Object> seq(List<Object> values) {
    return scala.jdk.javaapi.CollectionConverters.asScala(values).toList();
  }
}
