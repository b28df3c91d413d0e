package dev.llmbatch.flavor.uri;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real HTTP server on 127.0.0.1 answering the MLflow REST calls URI resolution makes, from a file
 * store on disk, with the JSON shapes MLflow's server returns (protobuf field names, versions as
 * strings, {@code {"error_code","message"}} with 404 for missing resources). Run artifact URIs are
 * served as proxied {@code mlflow-artifacts:/<path under mlruns>} locations, as {@code mlflow server
 * --serve-artifacts} does. Reads meta.yaml itself (not through FileStore), so the client is checked
 * against an independent reading of the store.
 */
final class FakeMlflowServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private final Path root;
  private final String expectedAuth;
  private final HttpServer server;
  /** Requests seen, as {@code METHOD path?query}. */
  final List<String> requests = new ArrayList<>();
  /** Answer this many next requests with 503 (to exercise retries). */
  final AtomicInteger failNext = new AtomicInteger();

  FakeMlflowServer(Path mlrunsRoot, String expectedAuthorization) throws IOException {
    this.root = mlrunsRoot;
    this.expectedAuth = expectedAuthorization;
    this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  String uri() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getRawPath();
      Map<String, String> q = query(ex.getRequestURI().getRawQuery());
      synchronized (requests) {
        requests.add(ex.getRequestMethod() + " " + path
            + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery()));
      }
      if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        send(ex, 503, "{\"error_code\":\"TEMPORARILY_UNAVAILABLE\",\"message\":\"busy\"}");
        return;
      }
      if (expectedAuth != null && !expectedAuth.equals(ex.getRequestHeaders().getFirst("Authorization"))) {
        send(ex, 401, "{\"error_code\":\"UNAUTHENTICATED\",\"message\":\"You are not authenticated.\"}");
        return;
      }
      String api = "/api/2.0/";
      if (!path.startsWith(api)) {
        notFound(ex, "no such endpoint " + path);
        return;
      }
      String p = path.substring(api.length());
      if (p.startsWith("mlflow-artifacts/artifacts")) {
        artifacts(ex, p.substring("mlflow-artifacts/artifacts".length()), q);
        return;
      }
      Object body = switch (p) {
        case "mlflow/runs/get" -> run(q.get("run_id"));
        case "mlflow/model-versions/get" -> versionJson(q.get("name"), q.get("version"));
        case "mlflow/registered-models/alias" -> alias(q.get("name"), q.get("alias"));
        case "mlflow/model-versions/get-download-uri" -> downloadUri(q.get("name"), q.get("version"));
        case "mlflow/registered-models/get-latest-versions" -> latest(ex);
        default -> p.startsWith("mlflow/logged-models/")
            ? loggedModel(URLDecoder.decode(p.substring("mlflow/logged-models/".length()),
                StandardCharsets.UTF_8)) : null;
      };
      if (body == null) {
        notFound(ex, "Resource not found: " + p);
      } else {
        send(ex, 200, JSON.writeValueAsString(body));
      }
    } catch (RuntimeException e) {
      send(ex, 500, "{\"error_code\":\"INTERNAL_ERROR\",\"message\":\"" + e + "\"}");
    }
  }

  private ObjectNode run(String runId) throws IOException {
    Path runMeta = findOne("*/" + runId + "/meta.yaml");
    if (runMeta == null) {
      return null;
    }
    Map<String, Object> m = yaml(runMeta);
    ObjectNode info = JSON.createObjectNode();
    info.put("run_id", runId).put("run_uuid", runId).put("run_name", (String) m.get("run_name"))
        .put("experiment_id", m.get("experiment_id").toString())
        .put("user_id", (String) m.get("user_id")).put("status", "FINISHED")
        .put("start_time", ((Number) m.get("start_time")).longValue())
        .put("artifact_uri", proxied(runMeta.getParent().resolve("artifacts")))
        .put("lifecycle_stage", (String) m.get("lifecycle_stage"));
    ObjectNode run = JSON.createObjectNode();
    run.set("info", info);
    run.set("data", JSON.createObjectNode());
    ArrayNode outputs = JSON.createArrayNode();
    try (Stream<Path> s = Files.list(root)) {
      for (Path exp : s.toList()) {
        Path models = exp.resolve("models");
        if (Files.isDirectory(models)) {
          try (Stream<Path> ms = Files.list(models)) {
            for (Path md : ms.toList()) {
              if (runId.equals(String.valueOf(yaml(md.resolve("meta.yaml")).get("source_run_id")))) {
                outputs.addObject().put("model_id", md.getFileName().toString()).put("step", 0);
              }
            }
          }
        }
      }
    }
    run.putObject("outputs").set("model_outputs", outputs);
    ObjectNode out = JSON.createObjectNode();
    out.set("run", run);
    return out;
  }

  private ObjectNode loggedModel(String id) throws IOException {
    Path meta = findOne("*/models/" + id + "/meta.yaml");
    if (meta == null) {
      return null;
    }
    Map<String, Object> m = yaml(meta);
    ObjectNode out = JSON.createObjectNode();
    ObjectNode info = out.putObject("model").putObject("info");
    info.put("model_id", id).put("experiment_id", m.get("experiment_id").toString())
        .put("name", (String) m.get("name")).put("source_run_id", (String) m.get("source_run_id"))
        .put("creation_timestamp_ms", ((Number) m.get("creation_timestamp")).longValue())
        .put("artifact_uri", proxied(meta.getParent().resolve("artifacts")));
    out.with("model").putObject("data");
    return out;
  }

  private ObjectNode versionJson(String name, String version) throws IOException {
    ObjectNode v = version(name, version);
    if (v == null) {
      return null;
    }
    ObjectNode out = JSON.createObjectNode();
    out.set("model_version", v);
    return out;
  }

  /** A live version as the REST API shows it, or null (deleted versions are "not found"). */
  private ObjectNode version(String name, String version) throws IOException {
    Path meta = root.resolve("models").resolve(name).resolve("version-" + version).resolve("meta.yaml");
    if (!Files.isRegularFile(meta)) {
      return null;
    }
    Map<String, Object> m = yaml(meta);
    if ("Deleted_Internal".equals(m.get("current_stage"))) {
      return null;
    }
    ObjectNode v = JSON.createObjectNode();
    v.put("name", name).put("version", m.get("version").toString())
        .put("creation_timestamp", ((Number) m.get("creation_timestamp")).longValue())
        .put("current_stage", (String) m.get("current_stage"))
        .put("source", (String) m.get("source")).put("run_id", (String) m.get("run_id"))
        .put("status", "READY");
    if (m.get("model_id") != null) {
      v.put("model_id", (String) m.get("model_id"));
    }
    return v;
  }

  private ObjectNode alias(String name, String alias) throws IOException {
    Path f = root.resolve("models").resolve(name).resolve("aliases").resolve(alias);
    if (!Files.isRegularFile(f)) {
      return null;
    }
    ObjectNode out = versionJson(name, Files.readString(f).trim());
    if (out != null) {
      out.with("model_version").putArray("aliases").add(alias);
    }
    return out;
  }

  /** As the server does: a runs:/ source becomes the run's artifact URI plus the path. */
  private ObjectNode downloadUri(String name, String version) throws IOException {
    Path meta = root.resolve("models").resolve(name).resolve("version-" + version).resolve("meta.yaml");
    if (version(name, version) == null) {
      return null;
    }
    Map<String, Object> m = yaml(meta);
    String source = (String) m.get("source");
    String uri;
    if (source.startsWith("runs:/")) {
      String rest = source.substring("runs:/".length());
      String runId = rest.substring(0, rest.indexOf('/'));
      uri = run(runId).path("run").path("info").path("artifact_uri").asText()
          + rest.substring(runId.length());
    } else if (m.get("storage_location") != null) {
      uri = proxied(Path.of(java.net.URI.create((String) m.get("storage_location"))));
    } else {
      uri = source.startsWith("file:") ? proxied(Path.of(java.net.URI.create(source))) : source;
    }
    return JSON.createObjectNode().put("artifact_uri", uri);
  }

  private ObjectNode latest(HttpExchange ex) throws IOException {
    Map<?, ?> req = JSON.readValue(ex.getRequestBody(), Map.class);
    String name = (String) req.get("name");
    List<?> stages = (List<?>) req.get("stages");
    Path dir = root.resolve("models").resolve(name);
    if (!Files.isDirectory(dir)) {
      return null;
    }
    Map<String, ObjectNode> perStage = new LinkedHashMap<>();
    try (Stream<Path> s = Files.list(dir)) {
      for (Path vd : s.filter(x -> x.getFileName().toString().startsWith("version-")).toList()) {
        ObjectNode v = version(name, vd.getFileName().toString().substring("version-".length()));
        if (v == null) {
          continue;
        }
        String stage = v.path("current_stage").asText();
        if (stages != null && !stages.isEmpty() && stages.stream()
            .noneMatch(x -> x.toString().equalsIgnoreCase(stage))) {
          continue;
        }
        ObjectNode prev = perStage.get(stage);
        if (prev == null || prev.path("version").asLong() < v.path("version").asLong()) {
          perStage.put(stage, v);
        }
      }
    }
    ObjectNode out = JSON.createObjectNode();
    perStage.values().forEach(out.putArray("model_versions")::add);
    return out;
  }

  private void artifacts(HttpExchange ex, String rest, Map<String, String> q) throws IOException {
    if (rest.isEmpty()) {
      String rel = q.getOrDefault("path", "");
      Path dir = root.resolve(rel).normalize();
      if (!dir.startsWith(root) || !Files.isDirectory(dir)) {
        send(ex, 200, "{}");
        return;
      }
      ObjectNode out = JSON.createObjectNode();
      ArrayNode files = out.putArray("files");
      try (Stream<Path> s = Files.list(dir)) {
        for (Path p : s.sorted().toList()) {
          ObjectNode f = files.addObject().put("path", p.getFileName().toString())
              .put("is_dir", Files.isDirectory(p));
          if (!Files.isDirectory(p)) {
            f.put("file_size", Files.size(p));
          }
        }
      }
      send(ex, 200, JSON.writeValueAsString(out));
      return;
    }
    Path file = root.resolve(URLDecoder.decode(rest.substring(1), StandardCharsets.UTF_8)).normalize();
    if (!file.startsWith(root) || !Files.isRegularFile(file)) {
      notFound(ex, "File not found");
      return;
    }
    ex.getResponseHeaders().add("Content-Type", "application/octet-stream");
    ex.sendResponseHeaders(200, Files.size(file));
    try (OutputStream os = ex.getResponseBody()) {
      Files.copy(file, os);
    }
  }

  private String proxied(Path dir) {
    return "mlflow-artifacts:/" + root.relativize(dir).toString().replace('\\', '/');
  }

  private Path findOne(String glob) throws IOException {
    var matcher = root.getFileSystem().getPathMatcher("glob:" + glob);
    try (Stream<Path> s = Files.walk(root, 4)) {
      return s.filter(p -> matcher.matches(root.relativize(p))).findFirst().orElse(null);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> yaml(Path p) throws IOException {
    return YAML.readValue(p.toFile(), Map.class);
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> q = new LinkedHashMap<>();
    if (raw != null) {
      for (String kv : raw.split("&")) {
        int eq = kv.indexOf('=');
        q.put(URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8),
            eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return q;
  }

  private static void notFound(HttpExchange ex, String message) throws IOException {
    send(ex, 404, "{\"error_code\":\"RESOURCE_DOES_NOT_EXIST\",\"message\":\"" + message + "\"}");
  }

  private static void send(HttpExchange ex, int code, String json) throws IOException {
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(code, b.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(b);
    }
  }
}
