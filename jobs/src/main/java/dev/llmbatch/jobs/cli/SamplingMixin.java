package dev.llmbatch.jobs.cli;

import dev.llmbatch.jobs.config.JobOptions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** Job-level sampling parameters (OpenAI's meanings); a row's own value wins over these. */
public final class SamplingMixin {
  @Option(names = "--temperature", description = "0 (greedy) to 2.")
  Double temperature;

  @Option(names = "--max-tokens", description = "Most new tokens per choice.")
  Integer maxTokens;

  @Option(names = "--stop", paramLabel = "<text>", description = "Stop string (repeatable, up to 4).")
  List<String> stop;

  @Option(names = "--top-p", description = "Nucleus sampling mass, in (0, 1].")
  Double topP;

  @Option(names = "--top-k", description = "Sample among the k most likely tokens (0 = off).")
  Integer topK;

  @Option(names = "--seed", description = "Job seed: rows without their own seed derive theirs"
      + " from it and their key, so reruns reproduce.")
  Long seed;

  @Option(names = "--n", description = "Choices per row.")
  Integer n;

  @Option(names = "--ignore-eos", arity = "0..1", fallbackValue = "true",
      description = "Keep generating past EOS (benchmarks).")
  Boolean ignoreEos;

  @Option(names = "--presence-penalty", description = "-2 to 2.")
  Double presencePenalty;

  @Option(names = "--frequency-penalty", description = "-2 to 2.")
  Double frequencyPenalty;

  Map<String, Object> typed() {
    Map<String, Object> m = new LinkedHashMap<>();
    JobOptionsMixin.put(m, JobOptions.TEMPERATURE, temperature);
    JobOptionsMixin.put(m, JobOptions.MAX_TOKENS, maxTokens);
    JobOptionsMixin.put(m, JobOptions.STOP, stop);
    JobOptionsMixin.put(m, JobOptions.TOP_P, topP);
    JobOptionsMixin.put(m, JobOptions.TOP_K, topK);
    JobOptionsMixin.put(m, JobOptions.SEED, seed);
    JobOptionsMixin.put(m, JobOptions.N, n);
    JobOptionsMixin.put(m, JobOptions.IGNORE_EOS, ignoreEos);
    JobOptionsMixin.put(m, JobOptions.PRESENCE_PENALTY, presencePenalty);
    JobOptionsMixin.put(m, JobOptions.FREQUENCY_PENALTY, frequencyPenalty);
    return m;
  }
}
