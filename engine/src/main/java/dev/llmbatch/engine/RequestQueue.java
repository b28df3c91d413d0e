package dev.llmbatch.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The bounded hand-off between submitting threads and one engine thread: at most {@code capacity}
 * requests are admitted and unfinished (a submitter blocks for room), and once closed nothing more
 * is admitted, so {@link #closeAndDrain()} leaves no request behind that nobody will ever complete.
 * Every admitted request must be {@link #release() released} exactly once when it finishes.
 */
public final class RequestQueue<T> {
  private final Semaphore permits;
  private final LinkedBlockingQueue<T> queue = new LinkedBlockingQueue<>();
  private final Object admission = new Object();
  private volatile boolean closed;

  public RequestQueue(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("Invalid queueCapacity: " + capacity);
    }
    this.permits = new Semaphore(capacity);
  }

  /**
   * Admits {@code item}, waiting for room. Returns false, admitting nothing, when the queue is or
   * becomes closed.
   */
  public boolean offer(T item) throws InterruptedException {
    while (!permits.tryAcquire(100, TimeUnit.MILLISECONDS)) {
      if (closed) {
        return false;
      }
    }
    synchronized (admission) {
      if (closed) {
        permits.release();
        return false;
      }
      queue.add(item);
    }
    return true;
  }

  /** The next admitted request, or null. */
  public T poll() {
    return queue.poll();
  }

  /** The next admitted request, waiting up to {@code timeout}, or null. */
  public T poll(long timeout, TimeUnit unit) throws InterruptedException {
    return queue.poll(timeout, unit);
  }

  /** One admitted request finished: room for another. */
  public void release() {
    permits.release();
  }

  public boolean isClosed() {
    return closed;
  }

  /** Admits nothing more; what is queued stays for the engine thread to drain. */
  public void close() {
    closed = true;
  }

  /** Closes and returns what is still queued (each still to be released by its finisher). */
  public List<T> closeAndDrain() {
    synchronized (admission) {
      closed = true; // from here on nothing enters the queue: draining it leaves none behind
    }
    List<T> left = new ArrayList<>();
    queue.drainTo(left);
    return left;
  }
}
