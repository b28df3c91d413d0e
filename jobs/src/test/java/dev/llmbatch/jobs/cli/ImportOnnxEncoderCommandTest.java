package dev.llmbatch.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Argument handling and error reporting; real jars are imported in the engine's tests. */
class ImportOnnxEncoderCommandTest {
  @TempDir Path dir;

  private int run(StringWriter out, StringWriter err, String... args) {
    CommandLine cmd = new CommandLine(new ImportOnnxEncoderCommand());
    cmd.setOut(new PrintWriter(out));
    cmd.setErr(new PrintWriter(err));
    return cmd.execute(args);
  }

  @Test
  void rejectsBadInputsWithAMessage() throws Exception {
    Path onnx = dir.resolve("bad.onnx");
    Files.write(onnx, new byte[] {1, 2, 3, 4, 5});
    Path tok = dir.resolve("tokenizer.json");
    Files.writeString(tok, "{\"model\":{\"vocab\":{}}}");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int rc = run(out, err, "--onnx", onnx.toString(), "--tokenizer", tok.toString(),
        "--pooling", "mean", "--normalize", "--output", dir.resolve("o").toString());
    assertEquals(1, rc);
    assertTrue(err.toString().contains("Cannot read ONNX model"), err.toString());

    err = new StringWriter();
    rc = run(out, err, "--onnx", onnx.toString(), "--tokenizer", tok.toString(), "--pooling",
        "weird", "--output", dir.resolve("o2").toString());
    assertEquals(1, rc);
    assertTrue(err.toString().contains("Invalid --pooling"), err.toString());

    err = new StringWriter();
    rc = run(out, err, "--jar", "x.jar", "--onnx", onnx.toString(), "--tokenizer",
        tok.toString(), "--pooling", "mean", "--output", "o3");
    assertEquals(2, rc, "--jar and --onnx are mutually exclusive");
  }
}
