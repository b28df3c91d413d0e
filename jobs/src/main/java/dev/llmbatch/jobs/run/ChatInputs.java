package dev.llmbatch.jobs.run;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.from_json;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.struct;

import dev.llmbatch.jobs.JobException;
import dev.llmbatch.jobs.config.Columns;
import java.util.Arrays;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;

/**
 * The messages a chat job serves, as a hidden column of {@code array<struct<role, content>>}: the
 * messages column as it is, or parsed from JSON text (CSV and text sources carry it so), or one user
 * message built from the prompt column (after an optional system prompt).
 */
public final class ChatInputs {
  /** The column the chat transform reads; dropped before writing. */
  public static final String MESSAGES = "__llm_batch_messages";

  static final StructType MESSAGE = new StructType()
      .add("role", DataTypes.StringType).add("content", DataTypes.StringType)
      .add("name", DataTypes.StringType);

  private ChatInputs() {}

  /** {@code rows} plus the {@link #MESSAGES} column. */
  public static Dataset<Row> withMessages(Dataset<Row> rows, Columns cols) {
    var names = Arrays.asList(rows.columns());
    if (names.contains(cols.messages())) {
      var type = rows.schema().apply(cols.messages()).dataType();
      Column m = type instanceof StringType
          ? from_json(col(cols.messages()), DataTypes.createArrayType(MESSAGE),
              Map.of("mode", "PERMISSIVE"))
          : col(cols.messages());
      return rows.withColumn(MESSAGES, m);
    }
    if (names.contains(cols.prompt())) {
      Column user = struct(lit("user").as("role"), col(cols.prompt()).cast("string").as("content"),
          lit(null).cast("string").as("name"));
      Column msgs = cols.systemPrompt() == null ? array(user) : array(struct(
          lit("system").as("role"), lit(cols.systemPrompt()).as("content"),
          lit(null).cast("string").as("name")), user);
      return rows.withColumn(MESSAGES, msgs);
    }
    throw new JobException("Cannot find the chat messages: the input has neither a '"
        + cols.messages() + "' nor a '" + cols.prompt() + "' column (columns: "
        + String.join(", ", rows.columns()) + "; set --messages-col or --prompt-col)");
  }
}
