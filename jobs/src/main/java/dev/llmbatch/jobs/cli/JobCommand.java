package dev.llmbatch.jobs.cli;

import dev.llmbatch.jobs.config.ConfFile;
import dev.llmbatch.jobs.config.JobConf;
import dev.llmbatch.jobs.config.JobKind;
import dev.llmbatch.jobs.run.Jobs;
import dev.llmbatch.jobs.summary.RunSummary;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;

/** The shared body of the job commands: resolve the options, run the job, exit 0 when it finished. */
abstract class JobCommand implements Callable<Integer> {
  @Mixin
  JobOptionsMixin job;

  /** The kind of job this command runs. */
  abstract JobKind kind();

  /** The command's own options the user typed (columns, sampling). */
  abstract Map<String, Object> ownOptions();

  /** The resolved configuration (command line over conf file over defaults). */
  JobConf conf() {
    Map<String, Object> cli = new LinkedHashMap<>(job.typed());
    cli.putAll(ownOptions());
    Map<String, Object> file = job.confFile == null ? Map.of() : ConfFile.read(job.confFile);
    return JobConf.resolve(kind(), cli, file);
  }

  /** Runs the job; a failure propagates to the CLI's handler, which prints it on one line. */
  @Override
  public Integer call() {
    RunSummary summary = Jobs.run(conf());
    return summary.status().equals("succeeded") ? 0 : 1;
  }
}
