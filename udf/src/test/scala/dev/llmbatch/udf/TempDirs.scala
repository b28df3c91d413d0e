package dev.llmbatch.udf

import java.nio.file.{Files, Path}
import java.util.Comparator
import java.util.concurrent.ConcurrentLinkedQueue

import scala.util.control.NonFatal

/**
 * Temp folders the suites of one test JVM make, deleted when it exits: some outlive a suite (the
 * chat flavor is shared by every suite that loads it; a cluster's executors read it until they
 * are stopped), so they go when the JVM does, not in a suite's afterAll.
 */
object TempDirs {
  private val made = new ConcurrentLinkedQueue[Path]()

  Runtime.getRuntime.addShutdownHook(new Thread(() => made.forEach(p => deleteTree(p)),
    "llm-batch-test-temp-dirs"))

  /** A fresh folder under java.io.tmpdir, named prefix + digits, deleted at JVM exit. */
  def create(prefix: String): Path = {
    val dir = Files.createTempDirectory(prefix)
    made.add(dir)
    dir
  }

  /** Deletes p and everything under it now (what is gone already, or busy, is skipped). */
  def deleteTree(p: Path): Unit = if (p != null && Files.exists(p)) {
    val s = Files.walk(p)
    try s.sorted(Comparator.reverseOrder[Path]()).forEach { f =>
      try Files.deleteIfExists(f) catch { case NonFatal(_) => }
    } finally s.close()
  }
}
