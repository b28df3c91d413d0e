package dev.llmbatch.jobs;

import dev.llmbatch.jobs.cli.DemoCommand;
import dev.llmbatch.jobs.cli.InspectCommand;
import dev.llmbatch.jobs.cli.PredictCommand;
import dev.llmbatch.jobs.cli.VersionProvider;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code llm-batch} command: OpenAI-shaped batch inference for Hugging Face models logged with
 * MLflow's Transformers flavor. Each subcommand is its own class in {@code dev.llmbatch.jobs.cli};
 * registering one is one line in {@code subcommands} below.
 */
@Command(
    name = "llm-batch",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "OpenAI-shaped batch inference, in the JVM, for Hugging Face models logged with"
        + " MLflow's Transformers flavor.",
    subcommands = {
        CommandLine.HelpCommand.class,
        DemoCommand.class,
        InspectCommand.class,
        dev.llmbatch.jobs.cli.ChatCommand.class,
        dev.llmbatch.jobs.cli.CompletionsCommand.class,
        dev.llmbatch.jobs.cli.EmbeddingsCommand.class,
        dev.llmbatch.jobs.cli.BatchCommand.class,
        PredictCommand.class,
        dev.llmbatch.jobs.cli.ImportOnnxEncoderCommand.class,
        dev.llmbatch.jobs.cli.LogCommand.class,
        dev.llmbatch.jobs.cli.PersistCommand.class,
    })
public final class LlmBatchCli implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The configured command line: errors print as one line, exit codes 1 (failure) and 2 (usage). */
  public static CommandLine commandLine() {
    CommandLine cmd = new CommandLine(new LlmBatchCli());
    cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
      PrintWriter err = commandLine.getErr();
      String message = ex.getMessage() == null ? ex.toString() : ex.getMessage();
      err.println("llm-batch " + commandLine.getCommandName() + ": " + message);
      if (Boolean.getBoolean("llmbatch.debug")) {
        ex.printStackTrace(err);
      }
      err.flush();
      return 1;
    });
    return cmd;
  }

  /** Runs the command line and exits with its code. */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
