package dev.llmbatch.jobs.cli;

import dev.llmbatch.jobs.config.JobKind;
import dev.llmbatch.jobs.config.JobOptions;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code llm-batch completions}: a table of prompts in, the same table plus response and error out. */
@Command(name = "completions", mixinStandardHelpOptions = true,
    description = "Text completions over a table: each row's prompt in, the same rows plus an"
        + " OpenAI text_completion 'response' and an 'error' out.")
public final class CompletionsCommand extends JobCommand {
  @Option(names = "--id-col", description = "Row key: reproducible ids and seeds; what --resume skips on.")
  String idCol;

  @Option(names = "--prompt-col", description = "Prompt column (default prompt).")
  String promptCol;

  @Mixin
  SamplingMixin sampling;

  @Override
  JobKind kind() {
    return JobKind.COMPLETIONS;
  }

  @Override
  Map<String, Object> ownOptions() {
    Map<String, Object> m = new LinkedHashMap<>(sampling.typed());
    JobOptionsMixin.put(m, JobOptions.ID_COL, idCol);
    JobOptionsMixin.put(m, JobOptions.PROMPT_COL, promptCol);
    return m;
  }
}
