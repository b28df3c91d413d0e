package dev.llmbatch.engine.runtime;

import java.util.function.Supplier;
import org.slf4j.Logger;

/**
 * A native fast path decided once per JVM: the first {@link #available()} runs its loader (build,
 * load, bind; null, or why not) and logs which way it went, once.
 */
final class NativePath {
  private final Supplier<String> loader;
  private final Logger log;
  private final Supplier<String> taken; // logged when available
  private final String fallback; // logged with the reason when not
  private volatile Boolean available;
  private volatile String unavailable = "not checked yet";

  /** {@code taken}: the line logged on success, made once the loader has run. */
  NativePath(Supplier<String> loader, Logger log, Supplier<String> taken, String fallback) {
    this.loader = loader;
    this.log = log;
    this.taken = taken;
    this.fallback = fallback;
  }

  boolean available() {
    Boolean a = available;
    if (a != null) {
      return a;
    }
    synchronized (this) {
      if (available == null) {
        String why = loader.get();
        unavailable = why;
        available = why == null;
        if (why == null) {
          log.info(taken.get());
        } else {
          log.info("{}: {}", fallback, why);
        }
      }
      return available;
    }
  }

  /** Why {@link #available()} is false: null once it is true, "not checked yet" before it runs. */
  String unavailableReason() {
    return Boolean.TRUE.equals(available) ? null : unavailable;
  }
}
