package dev.llmbatch.jobs.cli;

import dev.llmbatch.jobs.config.JobKind;
import dev.llmbatch.jobs.config.JobOptions;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code llm-batch chat}: a table of conversations in, the same table plus response and error out. */
@Command(name = "chat", mixinStandardHelpOptions = true,
    description = "Chat completions over a table: each row's messages (or prompt) in,"
        + " the same rows plus an OpenAI chat.completion 'response' and an 'error' out.")
public final class ChatCommand extends JobCommand {
  @Option(names = "--id-col", description = "Row key: reproducible ids and seeds; what --resume skips on.")
  String idCol;

  @Option(names = "--messages-col", description = "Messages column: array<struct<role,content>>"
      + " or its JSON text (default messages).")
  String messagesCol;

  @Option(names = "--prompt-col", description = "Without a messages column: a user message from"
      + " this column (default prompt).")
  String promptCol;

  @Option(names = "--system-prompt", description = "System message before each --prompt-col message.")
  String systemPrompt;

  @Mixin
  SamplingMixin sampling;

  @Override
  JobKind kind() {
    return JobKind.CHAT;
  }

  @Override
  Map<String, Object> ownOptions() {
    Map<String, Object> m = new LinkedHashMap<>(sampling.typed());
    JobOptionsMixin.put(m, JobOptions.ID_COL, idCol);
    JobOptionsMixin.put(m, JobOptions.MESSAGES_COL, messagesCol);
    JobOptionsMixin.put(m, JobOptions.PROMPT_COL, promptCol);
    JobOptionsMixin.put(m, JobOptions.SYSTEM_PROMPT, systemPrompt);
    return m;
  }
}
