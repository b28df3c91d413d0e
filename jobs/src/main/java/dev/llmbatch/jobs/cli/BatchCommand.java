package dev.llmbatch.jobs.cli;

import dev.llmbatch.jobs.config.JobKind;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code llm-batch batch}: an OpenAI Batch API input file (JSONL, chat, completions and embeddings
 * lines mixed by url) in, an OpenAI Batch output file (JSONL, keyed by custom_id) out.
 */
@Command(name = "batch", mixinStandardHelpOptions = true,
    description = "OpenAI Batch API file in (JSON lines: custom_id, method, url, body), Batch"
        + " output JSON lines out; chat, completions and embeddings lines may be mixed."
        + " --resume skips the custom_ids already in the output.")
public final class BatchCommand extends JobCommand {
  @Mixin
  SamplingMixin sampling;

  @Override
  JobKind kind() {
    return JobKind.BATCH;
  }

  @Override
  Map<String, Object> ownOptions() {
    return sampling.typed();
  }
}
