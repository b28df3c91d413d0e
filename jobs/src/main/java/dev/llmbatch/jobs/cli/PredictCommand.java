package dev.llmbatch.jobs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import dev.llmbatch.engine.api.BatchRequestLine;
import dev.llmbatch.engine.api.BatchResponseLine;
import dev.llmbatch.engine.api.OpenAiJson;
import dev.llmbatch.engine.api.RequestKey;
import dev.llmbatch.engine.api.RequestParams;
import dev.llmbatch.engine.serve.LoadedModel;
import dev.llmbatch.engine.serve.ServeOptions;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code llm-batch predict --model URI --input requests.jsonl --output results.jsonl}: the no-Spark
 * path, as {@code mlflow models predict} is to MLflow. Reads OpenAI Batch API lines, submits them
 * all to the model's continuous-batching engine (bounded by {@code --queue}), and writes one output
 * line per request line, in input order, as results arrive. A bad line is that line's error, never
 * the job's. Blank lines are skipped. A rerun resumes: the output already written is a prefix of
 * the results, so those input lines are skipped (their custom_ids checked) and the rest appended,
 * unless {@code --overwrite}.
 */
@Command(name = "predict", mixinStandardHelpOptions = true,
    description = "Run an OpenAI Batch API file (/v1/chat/completions, /v1/completions,"
        + " /v1/embeddings lines) through a logged model; write one result line per request line.")
public final class PredictCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "Folder holding MLmodel, or file:// URI.")
  String modelUri;

  @Option(names = "--input", required = true, description = "OpenAI Batch API input JSONL.")
  Path input;

  @Option(names = "--output", required = true, description = "Output JSONL (appended on resume).")
  Path output;

  @Option(names = "--overwrite", description = "Start the output afresh instead of resuming.")
  boolean overwrite;

  @Option(names = "--temperature", description = "Job default temperature (a request's own wins).")
  Double temperature;

  @Option(names = "--top-p", description = "Job default top_p.")
  Double topP;

  @Option(names = "--top-k", description = "Job default top_k (0 = off).")
  Integer topK;

  @Option(names = "--max-tokens", description = "Job default max_tokens.")
  Integer maxTokens;

  @Option(names = "--stop", description = "Job default stop string (repeatable, up to 4).")
  List<String> stop;

  @Option(names = "--ignore-eos", description = "Job default ignore_eos (benchmarks).")
  Boolean ignoreEos;

  @Option(names = "--seed", defaultValue = "0",
      description = "Job seed: requests without their own seed derive one from it and their"
          + " custom_id (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--device", defaultValue = "cpu", description = "cpu, gpu or gpu:N.")
  String device;

  @Option(names = "--dtype", defaultValue = "auto", description = "auto (FP32 on CPU, the"
      + " logged torch_dtype as FP16 on GPU), fp32, or fp16 (GPU only; refused on cpu).")
  String dtype;

  @Option(names = "--threads", defaultValue = "0", description = "libtorch threads (0 = cores).")
  int threads;

  @Option(names = "--max-sequences", defaultValue = "16",
      description = "Sequences decoded together (default ${DEFAULT-VALUE}).")
  int maxSequences;

  @Option(names = "--max-batch-tokens", defaultValue = "512",
      description = "Token budget of one step (default ${DEFAULT-VALUE}).")
  int maxBatchTokens;

  @Option(names = "--kv-cache-mb", defaultValue = "1024",
      description = "KV-cache memory budget in MiB (default ${DEFAULT-VALUE}).")
  long kvCacheMb;

  @Option(names = "--max-model-len", defaultValue = "0",
      description = "Context limit in tokens (0 = the model's).")
  int maxModelLen;

  @Option(names = "--queue", defaultValue = "256",
      description = "Requests in flight at most (default ${DEFAULT-VALUE}).")
  int queue;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private record Pending(int line, RequestKey key, String customId,
      CompletableFuture<?> result) {}

  @Override
  public Integer call() throws Exception {
    if (!Files.isRegularFile(input)) {
      throw new IllegalArgumentException("Cannot read --input " + input + ": no such file");
    }
    List<String> prior = overwrite ? List.of() : BatchOutput.resume(output);
    RequestParams job = new RequestParams(temperature, topP, topK, maxTokens, stop, null, null,
        null, null, ignoreEos);
    ServeOptions options = new ServeOptions(device, threads, maxSequences, maxBatchTokens,
        kvCacheMb << 20, maxModelLen, queue, job, null, System.currentTimeMillis() / 1000)
        .withDtype(dtype);
    long start = System.nanoTime();
    int ok = 0;
    int failed = 0;
    int skipped = 0;
    String computed;
    try (LoadedModel model = LoadedModel.load(ModelLocator.open(modelUri, System.getenv()), options);
        BufferedReader in = Files.newBufferedReader(input, StandardCharsets.UTF_8);
        BufferedWriter out = Files.newBufferedWriter(output, StandardCharsets.UTF_8,
            StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            overwrite ? StandardOpenOption.TRUNCATE_EXISTING : StandardOpenOption.APPEND)) {
      computed = model.dtype().name();
      Deque<Pending> inFlight = new ArrayDeque<>();
      Set<String> seen = new HashSet<>();
      int lineNo = 0;
      for (String text; (text = in.readLine()) != null; ) {
        lineNo++;
        if (text.isBlank()) {
          continue;
        }
        if (skipped < prior.size()) {
          checkResumed(prior.get(skipped), text, lineNo, seen);
          skipped++;
          continue;
        }
        Pending p = submit(model, lineNo, text, seen);
        inFlight.add(p);
        // Write finished heads in order; cap results held behind a slow head.
        while (!inFlight.isEmpty() && (inFlight.peek().result.isDone()
            || inFlight.size() > 2 * queue)) {
          if (write(out, inFlight.poll())) {
            ok++;
          } else {
            failed++;
          }
        }
      }
      while (!inFlight.isEmpty()) {
        if (write(out, inFlight.poll())) {
          ok++;
        } else {
          failed++;
        }
      }
    }
    double secs = (System.nanoTime() - start) / 1e9;
    spec.commandLine().getErr().printf(Locale.ROOT,
        "llm-batch predict: %d ok, %d failed, %d already in %s; %.1f s on %s in %s%n", ok, failed,
        skipped, output, secs, device, computed);
    spec.commandLine().getErr().flush();
    return 0;
  }

  /** An input line already answered in the output must carry the custom_id written for it. */
  private void checkResumed(String written, String text, int lineNo, Set<String> seen) {
    String cid = null;
    try {
      JsonNode n = OpenAiJson.parseTree(text);
      if (n != null && n.path("custom_id").isTextual()) {
        cid = n.get("custom_id").asText();
        seen.add(cid);
      }
    } catch (ApiException e) {
      cid = null; // a malformed line was answered with custom_id null
    }
    if (written != null && !written.equals(cid)) {
      throw new IllegalStateException("Cannot resume into " + output + ": its result for input"
          + " line " + lineNo + " has custom_id '" + written + "' but the line has '" + cid
          + "'; pass --overwrite or another --output");
    }
  }

  /** Parses one line and submits it (a bad line gets a failed future). */
  private Pending submit(LoadedModel model, int lineNo, String text, Set<String> seen) {
    String customId = null;
    RequestKey key = new RequestKey("line-" + lineNo, seed);
    try {
      JsonNode node = OpenAiJson.parseTree(text);
      JsonNode cid = node == null ? null : node.get("custom_id");
      if (cid != null && cid.isTextual() && !cid.asText().isEmpty()) {
        customId = cid.asText();
        key = new RequestKey(customId, seed);
        if (!seen.add(customId)) {
          throw ApiException.invalidRequest("Duplicate custom_id '" + customId + "' (line "
              + lineNo + "): custom_ids must be unique within a batch");
        }
      }
      BatchRequestLine line = OpenAiJson.read(node, BatchRequestLine.class);
      if (customId == null) {
        throw ApiException.invalidRequest("Invalid line " + lineNo
            + ": 'custom_id' (a non-empty string) is required");
      }
      if (line.method() != null && !line.method().equalsIgnoreCase("POST")) {
        throw ApiException.invalidRequest("Invalid method '" + line.method() + "' (line "
            + lineNo + "): only POST is supported");
      }
      return new Pending(lineNo, key, customId, model.serve(line.url(), line.body(), key));
    } catch (ApiException e) {
      return new Pending(lineNo, key, customId, CompletableFuture.failedFuture(e));
    }
  }

  /** Writes one result line; true when the request succeeded. */
  private static boolean write(BufferedWriter out, Pending p) throws IOException {
    BatchResponseLine line;
    try {
      Object body = p.result.get();
      line = BatchResponseLine.ok(p.key, body);
    } catch (ExecutionException e) {
      ApiError error = ApiException.errorOf(e);
      line = BatchResponseLine.failed(p.key, error);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("Interrupted while waiting for line " + p.line, e);
    }
    if (p.customId == null) {
      line = new BatchResponseLine(line.id(), null, line.response(), line.error());
    }
    out.write(OpenAiJson.write(line));
    out.write('\n');
    out.flush();
    return line.error() == null;
  }
}
