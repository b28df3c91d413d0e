package dev.llmbatch.jobs.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmbatch.engine.api.ApiError;
import dev.llmbatch.engine.api.ApiException;
import dev.llmbatch.engine.api.BatchRequestLine;
import dev.llmbatch.engine.api.BatchResponseLine;
import dev.llmbatch.engine.api.OpenAiJson;
import dev.llmbatch.engine.api.RequestKey;
import dev.llmbatch.udf.rows.Endpoint;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Serves the lines of an OpenAI Batch API file through a {@link Submitter}. Up to {@code window}
 * requests are in flight at once (so the engine can batch them) and results come back in input
 * order. A line that cannot be served becomes an error line; it never fails the partition. Blank
 * lines are skipped, as OpenAI does. Job-level parameters fill what a line's body leaves unset, and
 * every response's {@code created} is the job's start, so a rerun writes the same bytes.
 */
public final class BatchLineServer {
  /** Serves one request body (the udf module's executor model service). */
  @FunctionalInterface
  public interface Submitter {
    CompletableFuture<?> submit(Endpoint endpoint, ObjectNode body, RequestKey key);
  }

  private final Submitter model;
  private final long jobSeed;
  private final int window;
  private final ObjectNode jobDefaults;
  private final long created;

  /**
   * @param jobSeed the job's seed: rows without their own {@code seed} sample with a seed derived
   *     from it and their {@code custom_id}
   * @param window most requests in flight
   * @param jobDefaults job-level request fields (OpenAI names), below each line's own
   * @param created the job's start, epoch seconds
   */
  public BatchLineServer(Submitter model, long jobSeed, int window, ObjectNode jobDefaults,
      long created) {
    if (window < 1) {
      throw new IllegalArgumentException("Invalid window: " + window + " (must be at least 1)");
    }
    this.model = model;
    this.jobSeed = jobSeed;
    this.window = window;
    this.jobDefaults = jobDefaults == null ? OpenAiJson.mapper().createObjectNode() : jobDefaults;
    this.created = created;
  }

  /** The served lines for {@code lines}, lazily, in order. */
  public Iterator<ServedLine> serve(Iterator<String> lines) {
    return new Iterator<>() {
      final ArrayDeque<CompletableFuture<ServedLine>> inFlight = new ArrayDeque<>();

      private void fill() {
        while (inFlight.size() < window && lines.hasNext()) {
          String line = lines.next();
          if (!line.isBlank()) {
            inFlight.add(submit(line));
          }
        }
      }

      @Override
      public boolean hasNext() {
        fill();
        return !inFlight.isEmpty();
      }

      @Override
      public ServedLine next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return inFlight.poll().join(); // never fails: errors are folded into lines
      }
    };
  }

  /** Starts serving one line. */
  CompletableFuture<ServedLine> submit(String line) {
    BatchRequestLine req;
    try {
      req = OpenAiJson.mapper().treeToValue(OpenAiJson.parseTree(line), BatchRequestLine.class);
    } catch (ApiException e) {
      return CompletableFuture.completedFuture(unkeyed(line, e.error()));
    } catch (Exception e) {
      return CompletableFuture.completedFuture(unkeyed(line, ApiError.invalidRequest(
          "Invalid batch line: " + e.getMessage())));
    }
    if (req == null || req.customId() == null || req.customId().isEmpty()) {
      return CompletableFuture.completedFuture(unkeyed(line, ApiError.invalidRequest(
          "Invalid batch line: 'custom_id' is required")));
    }
    RequestKey key = new RequestKey(req.customId(), jobSeed);
    try {
      if (req.method() != null && !"POST".equalsIgnoreCase(req.method())) {
        throw ApiException.invalidRequest("Invalid method: " + req.method() + " (use POST)");
      }
      CompletableFuture<?> response = dispatch(req, key);
      return response.handle((body, failure) -> failure == null ? ok(key, body)
          : failed(key, ApiException.errorOf(unwrap(failure))));
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(failed(key, ApiException.errorOf(e)));
    }
  }

  private CompletableFuture<?> dispatch(BatchRequestLine req, RequestKey key) {
    String url = req.url() == null ? "" : req.url();
    Endpoint endpoint = switch (url) {
      case BatchRequestLine.CHAT_URL -> Endpoint.CHAT;
      case BatchRequestLine.COMPLETIONS_URL -> Endpoint.COMPLETIONS;
      case BatchRequestLine.EMBEDDINGS_URL -> Endpoint.EMBEDDINGS;
      default -> throw ApiException.invalidRequest("Invalid url: '" + url + "' (use one of "
          + BatchRequestLine.CHAT_URL + ", " + BatchRequestLine.COMPLETIONS_URL + ", "
          + BatchRequestLine.EMBEDDINGS_URL + ")");
    };
    JsonNode body = req.body();
    if (body == null || !body.isObject()) {
      throw ApiException.invalidRequest("Invalid body: expected a JSON object, got "
          + (body == null ? "nothing" : body.getNodeType().toString().toLowerCase()));
    }
    ObjectNode merged = jobDefaults.deepCopy();
    if (endpoint == Endpoint.EMBEDDINGS) {
      merged.removeAll(); // sampling parameters mean nothing to an embeddings request
    }
    merged.setAll((ObjectNode) body);
    return model.submit(endpoint, merged, key);
  }

  private ServedLine ok(RequestKey key, Object response) {
    JsonNode body = OpenAiJson.mapper().valueToTree(response);
    if (body instanceof ObjectNode o && o.has("created")) {
      o.put("created", created);
    }
    String json = OpenAiJson.write(BatchResponseLine.ok(key, body));
    JsonNode usage = body.path("usage");
    return new ServedLine(key.key(), json, null, usage.path("prompt_tokens").asLong(0),
        usage.path("completion_tokens").asLong(0), text(body, "model"),
        text(body, "system_fingerprint"));
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static ServedLine failed(RequestKey key, ApiError error) {
    return new ServedLine(key.key(), OpenAiJson.write(BatchResponseLine.failed(key, error)),
        error.code(), 0, 0, null, null);
  }

  /** A line with no usable custom_id: its id derives from the line's bytes, custom_id is null. */
  private static ServedLine unkeyed(String line, ApiError error) {
    String id = "batch_req_" + sha256(line).substring(0, 24);
    String json = OpenAiJson.write(new BatchResponseLine(id, null, null, error));
    return new ServedLine(null, json, error.code(), 0, 0, null, null);
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

}
