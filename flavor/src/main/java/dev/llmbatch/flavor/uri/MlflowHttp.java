package dev.llmbatch.flavor.uri;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.flavor.FlavorException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import java.util.StringJoiner;

/**
 * HTTP to an MLflow tracking server: JSON calls under {@code /api/2.0/}, streamed downloads, the
 * {@code Authorization} header from {@link MlflowEnvironment.Credentials} (whose values never appear
 * in a message or log), and retries of transient failures (connection errors, 429, 5xx) with a
 * short back-off, as MLflow's own client retries.
 */
final class MlflowHttp {
  static final String API = "/api/2.0/";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int ATTEMPTS = 3;

  private final String base;
  private final MlflowEnvironment.Credentials credentials;
  private final HttpClient client;

  MlflowHttp(String baseUri, MlflowEnvironment.Credentials credentials) {
    this.base = baseUri.endsWith("/") ? baseUri.substring(0, baseUri.length() - 1) : baseUri;
    this.credentials = credentials;
    this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(15))
        .followRedirects(HttpClient.Redirect.NORMAL).build();
  }

  /** The server's base URI (no credentials in it). */
  String base() {
    return base;
  }

  /** A JSON answer, or null when the server says 404 / RESOURCE_DOES_NOT_EXIST. */
  JsonNode getJson(String apiPath, Map<String, String> query) {
    return json(request(apiPath, query).GET(), apiPath, query);
  }

  /** A JSON answer to a POST of {@code body}, or null on 404. */
  JsonNode postJson(String apiPath, Object body) {
    String text;
    try {
      text = JSON.writeValueAsString(body);
    } catch (IOException e) {
      throw new FlavorException("Cannot encode request to " + apiPath + ": " + e, e);
    }
    HttpRequest.Builder b = request(apiPath, Map.of())
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(text));
    return json(b, apiPath, Map.of());
  }

  private JsonNode json(HttpRequest.Builder builder, String apiPath, Map<String, String> query) {
    HttpResponse<InputStream> r = send(builder.build(), apiPath, query);
    try (InputStream in = r.body()) {
      byte[] bytes = in.readAllBytes();
      if (r.statusCode() == 404) {
        return null;
      }
      if (r.statusCode() / 100 != 2) {
        throw failure(apiPath, query, r.statusCode(), new String(bytes, StandardCharsets.UTF_8));
      }
      return JSON.readTree(bytes);
    } catch (IOException e) {
      throw new FlavorException("Cannot read the answer of " + url(apiPath, query) + ": " + e, e);
    }
  }

  /**
   * Streams {@code apiPath} into {@code target} (written to a temporary sibling, then moved), so
   * a file is never half there. Returns false on 404.
   */
  boolean download(String apiPath, Path target) {
    HttpResponse<InputStream> r = send(request(apiPath, Map.of()).GET().build(), apiPath, Map.of());
    try (InputStream in = r.body()) {
      if (r.statusCode() == 404) {
        return false;
      }
      if (r.statusCode() / 100 != 2) {
        throw failure(apiPath, Map.of(), r.statusCode(),
            new String(in.readNBytes(2000), StandardCharsets.UTF_8));
      }
      Files.createDirectories(target.getParent());
      Path tmp = Files.createTempFile(target.getParent(), ".download-", ".part");
      try {
        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING,
            StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(tmp);
      }
      return true;
    } catch (IOException e) {
      throw new FlavorException("Cannot download " + url(apiPath, Map.of()) + " to " + target
          + ": " + e, e);
    }
  }

  private HttpRequest.Builder request(String apiPath, Map<String, String> query) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(apiPath, query)))
        .timeout(Duration.ofMinutes(5))
        .header("Accept", "application/json")
        .header("User-Agent", "llm-batch");
    String auth = credentials.header();
    if (auth != null) {
      b.header("Authorization", auth);
    }
    return b;
  }

  private HttpResponse<InputStream> send(HttpRequest req, String apiPath, Map<String, String> q) {
    IOException last = null;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        HttpResponse<InputStream> r = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
        int code = r.statusCode();
        if ((code == 429 || code >= 500) && attempt < ATTEMPTS) {
          r.body().close();
          pause(attempt);
          continue;
        }
        return r;
      } catch (IOException e) {
        last = e;
        if (attempt < ATTEMPTS) {
          pause(attempt);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new FlavorException("Cannot call " + url(apiPath, q) + ": interrupted", e);
      }
    }
    throw new FlavorException("Cannot reach the MLflow tracking server at " + base + " (" + url(
        apiPath, q) + ", " + ATTEMPTS + " attempts): " + last + "; check MLFLOW_TRACKING_URI and"
        + " that the server is up", last);
  }

  private static void pause(int attempt) {
    try {
      Thread.sleep(200L * attempt);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private FlavorException failure(String apiPath, Map<String, String> q, int code, String body) {
    String hint = switch (code) {
      case 401, 403 -> "; the server refused the credentials (" + credentials.describe()
          + "): set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and"
          + " MLFLOW_TRACKING_PASSWORD, to an account that can read this model";
      default -> "";
    };
    return FlavorException.of("Cannot call %s: HTTP %d %s%s", url(apiPath, q), code,
        errorMessage(body), hint);
  }

  /** MLflow's {@code {"error_code", "message"}}, or the start of the body. */
  static String errorMessage(String body) {
    try {
      JsonNode n = JSON.readTree(body);
      if (n != null && n.has("error_code")) {
        return n.path("error_code").asText() + ": " + n.path("message").asText();
      }
    } catch (IOException ignored) {
      // not JSON: show the text
    }
    return body.length() > 300 ? body.substring(0, 300) + "..." : body;
  }

  /** The full URL of an API path with its query (the query holds no secrets). */
  String url(String apiPath, Map<String, String> query) {
    StringBuilder sb = new StringBuilder(base).append(API).append(apiPath);
    if (!query.isEmpty()) {
      StringJoiner j = new StringJoiner("&", "?", "");
      query.forEach((k, v) -> j.add(enc(k) + "=" + enc(v)));
      sb.append(j);
    }
    return sb.toString();
  }

  /** An ordered query map from key, value pairs. */
  static Map<String, String> query(String... keyValues) {
    Map<String, String> q = new java.util.LinkedHashMap<>();
    for (int i = 0; i + 1 < keyValues.length; i += 2) {
      q.put(keyValues[i], keyValues[i + 1]);
    }
    return q;
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** Each segment of a slash path percent-encoded, slashes kept. */
  static String encPath(String path) {
    StringJoiner j = new StringJoiner("/");
    for (String seg : path.split("/", -1)) {
      j.add(enc(seg));
    }
    return j.toString();
  }
}
