package dev.llmbatch.jobs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Resume support for {@code predict}: an existing output file is a prefix of the results (they are
 * written in input order), so its lines' custom_ids, in order, say which input lines are done. A
 * half-written last line (a killed run) is cut off so that appending continues cleanly.
 */
final class BatchOutput {
  private BatchOutput() {}

  /** The custom_id of each complete output line, in order (null where the line had none). */
  static List<String> resume(Path output) throws IOException {
    List<String> ids = new ArrayList<>();
    if (!Files.isRegularFile(output) || Files.size(output) == 0) {
      return ids;
    }
    byte[] all = Files.readAllBytes(output);
    int end = all.length;
    while (end > 0 && all[end - 1] != '\n') {
      end--;
    }
    if (end < all.length) {
      try (RandomAccessFile f = new RandomAccessFile(output.toFile(), "rw")) {
        f.setLength(end);
      }
    }
    ObjectMapper om = new ObjectMapper();
    for (String line : new String(all, 0, end, StandardCharsets.UTF_8).split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode n = om.readTree(line);
      JsonNode cid = n.get("custom_id");
      ids.add(cid != null && cid.isTextual() ? cid.asText() : null);
    }
    return ids;
  }
}
