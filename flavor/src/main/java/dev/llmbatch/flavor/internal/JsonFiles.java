package dev.llmbatch.flavor.internal;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmbatch.flavor.FlavorException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads the JSON files of a Hugging Face model folder, with one-line errors naming the file. */
public final class JsonFiles {
  private static final ObjectMapper JSON = new ObjectMapper();

  private JsonFiles() {}

  /** Reads {@code file} as a JSON object; {@code fix} is appended to errors. */
  public static JsonNode readObject(Path file, String fix) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new FlavorException("Cannot read " + file + ": it does not exist; " + fix);
    } catch (IOException e) {
      throw new FlavorException("Cannot read " + file + ": " + e + "; " + fix, e);
    }
    JsonNode node;
    try {
      node = JSON.readTree(bytes);
    } catch (JsonProcessingException e) {
      JsonLocation loc = e.getLocation();
      String at = loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
      throw new FlavorException("Cannot read " + file + ": not valid JSON" + at + " ("
          + String.valueOf(e.getOriginalMessage()).replaceAll("\\s+", " ") + "); " + fix, e);
    } catch (IOException e) {
      throw new FlavorException("Cannot read " + file + ": " + e + "; " + fix, e);
    }
    if (node == null || !node.isObject()) {
      throw new FlavorException("Cannot read " + file + ": expected a JSON object; " + fix);
    }
    return node;
  }

  /** The shared mapper (thread-safe once configured). */
  public static ObjectMapper mapper() {
    return JSON;
  }
}
