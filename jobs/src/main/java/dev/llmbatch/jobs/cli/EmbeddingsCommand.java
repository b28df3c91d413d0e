package dev.llmbatch.jobs.cli;

import dev.llmbatch.jobs.config.JobKind;
import dev.llmbatch.jobs.config.JobOptions;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code llm-batch embeddings}: a table of texts in, the same table plus response and error out. */
@Command(name = "embeddings", mixinStandardHelpOptions = true,
    description = "Embeddings over a table: each row's input (a string or array of strings) in,"
        + " the same rows plus an OpenAI embeddings 'response' and an 'error' out.")
public final class EmbeddingsCommand extends JobCommand {
  @Option(names = "--id-col", description = "Row key: what --resume skips on.")
  String idCol;

  @Option(names = "--input-col", description = "Text column: string or array<string> (default input).")
  String inputCol;

  @Option(names = "--dimensions", description = "Truncate embeddings to this size, then re-normalise.")
  Integer dimensions;

  @Override
  JobKind kind() {
    return JobKind.EMBEDDINGS;
  }

  @Override
  Map<String, Object> ownOptions() {
    Map<String, Object> m = new LinkedHashMap<>();
    JobOptionsMixin.put(m, JobOptions.ID_COL, idCol);
    JobOptionsMixin.put(m, JobOptions.INPUT_COL, inputCol);
    JobOptionsMixin.put(m, JobOptions.DIMENSIONS, dimensions);
    return m;
  }
}
