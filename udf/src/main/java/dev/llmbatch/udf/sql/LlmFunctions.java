package dev.llmbatch.udf.sql;

import dev.llmbatch.udf.ModelHandle;
import dev.llmbatch.udf.UdfException;
import dev.llmbatch.udf.metrics.LlmBatchMetrics;
import dev.llmbatch.udf.rows.Endpoint;
import dev.llmbatch.udf.rows.Schemas;
import java.time.Instant;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.analysis.FunctionRegistry;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import scala.Function1;
import scala.Option;
import scala.collection.immutable.Seq;
import scala.runtime.AbstractFunction1;

/**
 * Registers the SQL functions of one model in a session:
 * {@code llm_chat(messages [, params])}, {@code llm_complete(prompt [, params])},
 * {@code llm_embed(input [, params])}. Each returns
 * {@code struct<response: <the endpoint's response struct>, error: struct<code, message>>}, so
 * {@code SELECT r.response.choices[0].message.content, r.error.code FROM (SELECT llm_chat(m) r ...)}
 * reads like the DataFrame outputs. {@code messages} is {@code array<struct<role, content, ...>>}
 * or a JSON string; {@code params} is a struct, a map or a JSON string of OpenAI parameters.
 */
public final class LlmFunctions {
  private LlmFunctions() {}

  /** The SQL name of an endpoint's function. */
  public static String name(Endpoint endpoint) {
    return switch (endpoint) {
      case CHAT -> "llm_chat";
      case COMPLETIONS -> "llm_complete";
      case EMBEDDINGS -> "llm_embed";
    };
  }

  /** Registers {@code llm_chat} and {@code llm_complete} over a generative model. */
  public static void registerGeneration(SparkSession spark, ModelHandle model, LlmBatchMetrics metrics) {
    register(spark, Endpoint.CHAT, name(Endpoint.CHAT), model, null, 0L, metrics);
    register(spark, Endpoint.COMPLETIONS, name(Endpoint.COMPLETIONS), model, null, 0L, metrics);
  }

  /** Registers {@code llm_embed} over an embedding model. */
  public static void registerEmbeddings(SparkSession spark, ModelHandle model, LlmBatchMetrics metrics) {
    register(spark, Endpoint.EMBEDDINGS, name(Endpoint.EMBEDDINGS), model, null, 0L, metrics);
  }

  /**
   * Registers one function taking one or two arguments.
   *
   * @param functionName the SQL name (e.g. {@code llm_chat}, or another to serve two models)
   * @param defaultParams default parameters (JSON object) below each row's own, or null
   * @param jobSeed seed that rows without their own derive theirs from
   * @param metrics accumulators to add to, or null
   */
  public static void register(SparkSession spark, Endpoint endpoint, String functionName,
      ModelHandle model, String defaultParams, long jobSeed, LlmBatchMetrics metrics) {
    LlmSqlFunction f = new LlmSqlFunction(endpoint, model, defaultParams, jobSeed,
        Instant.now().getEpochSecond(), metrics);
    var type = Schemas.result(endpoint);
    // Spark registers Java UDFs with a fixed arity; register both, then one builder that picks.
    String two = functionName + "__llmbatch_2";
    spark.udf().register(functionName, (UDF1<Object, org.apache.spark.sql.Row>) f, type);
    spark.udf().register(two, (UDF2<Object, Object, org.apache.spark.sql.Row>) f, type);
    FunctionRegistry registry = functionRegistry(spark);
    Function1<Seq<Expression>, Expression> one = builder(registry, functionName);
    Function1<Seq<Expression>, Expression> pair = builder(registry, two);
    registry.dropFunction(FunctionIdentifier.apply(two));
    registry.createOrReplaceTempFunction(functionName, new Builder(functionName, one, pair), "java_udf");
  }

  private static FunctionRegistry functionRegistry(SparkSession spark) {
    if (spark instanceof org.apache.spark.sql.classic.SparkSession classic) {
      return classic.sessionState().functionRegistry();
    }
    throw new UdfException("Cannot register SQL functions on " + spark.getClass().getName()
        + ": a classic (non-Connect) SparkSession is required");
  }

  private static Function1<Seq<Expression>, Expression> builder(FunctionRegistry r, String name) {
    Option<Function1<Seq<Expression>, Expression>> b = r.lookupFunctionBuilder(FunctionIdentifier.apply(name));
    if (b.isEmpty()) {
      throw new UdfException("Cannot register SQL function " + name + ": Spark did not keep it");
    }
    return b.get();
  }

  /** Dispatches on the argument count. */
  private static final class Builder extends AbstractFunction1<Seq<Expression>, Expression> {
    private final String name;
    private final Function1<Seq<Expression>, Expression> one;
    private final Function1<Seq<Expression>, Expression> two;

    Builder(String name, Function1<Seq<Expression>, Expression> one,
        Function1<Seq<Expression>, Expression> two) {
      this.name = name;
      this.one = one;
      this.two = two;
    }

    @Override
    public Expression apply(Seq<Expression> args) {
      return switch (args.length()) {
        case 1 -> one.apply(args);
        case 2 -> two.apply(args);
        default -> throw new UdfException("Invalid call " + name + "(" + args.length()
            + " arguments): use " + name + "(input) or " + name + "(input, params)");
      };
    }
  }
}
