package dev.llmbatch.jobs.cli;

import dev.llmbatch.flavor.LoggedModel;
import dev.llmbatch.flavor.ModelSummary;
import dev.llmbatch.flavor.hf.HfCache;
import dev.llmbatch.flavor.sample.SampleModels;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code llm-batch demo [--output DIR]}: the README's first command. For now it writes a tiny sample
 * chat model (random weights) under {@code DIR/model} and inspects it; later issues run the default
 * embedding and chat jobs here, keeping {@code --output}.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the demo: writes a sample logged model under the output folder and"
        + " inspects it.")
public final class DemoCommand implements Callable<Integer> {
  @Option(names = "--output", paramLabel = "DIR", defaultValue = "out/demo",
      description = "Where the demo writes its results (default: ${DEFAULT-VALUE}).")
  Path output;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Path model = output.resolve("model").toAbsolutePath().normalize();
    Files.createDirectories(model);
    SampleModels.writePipelineChatModel(model, 42);
    out.println("Wrote a sample chat model (tiny random Llama, MLflow pipeline layout) to " + model);
    out.println();
    LoggedModel logged = LoggedModel.open(model, HfCache.fromEnvironment(System.getenv()));
    InspectCommand.print(ModelSummary.of(logged), false, out);
    out.println();
    out.println("Inspect it again with: submit-scripts/llm-batch inspect " + model + " --json");
    out.flush();
    return 0;
  }
}
