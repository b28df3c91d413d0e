package dev.llmbatch.engine.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.tree.Node;
import java.time.Clock;
import java.time.ZonedDateTime;

/**
 * What one render on this thread has to know or report past Jinjava: its deadline and clock, and
 * the first failure (a sandbox violation, a Python error, a {@code raise_exception}). Jinjava
 * turns exceptions inside expressions into soft errors and renders on; recording them here lets
 * {@link ChatTemplate} fail the whole render as Jinja2 would.
 */
final class RenderState {
  private static final ThreadLocal<RenderState> CURRENT = new ThreadLocal<>();

  private final long deadlineNanos;
  private final Clock clock;
  private ChatTemplateException failure;

  private RenderState(long deadlineNanos, Clock clock) {
    this.deadlineNanos = deadlineNanos;
    this.clock = clock;
  }

  static RenderState begin(long timeoutNanos, Clock clock) {
    RenderState state = new RenderState(System.nanoTime() + timeoutNanos, clock);
    CURRENT.set(state);
    return state;
  }

  static void end() {
    CURRENT.remove();
  }

  ChatTemplateException failure() {
    return failure;
  }

  private static RenderState current() {
    RenderState state = CURRENT.get();
    if (state == null) {
      throw new IllegalStateException("no chat template render in progress on this thread");
    }
    return state;
  }

  /** Records (the first) failure of this render and returns it for the caller to throw. */
  static ChatTemplateException fail(String message) {
    return record(new ChatTemplateException(message));
  }

  private static ChatTemplateException record(ChatTemplateException e) {
    RenderState state = CURRENT.get();
    if (state != null && state.failure == null) {
      state.failure = e;
    }
    return state != null && state.failure != null ? state.failure : e;
  }

  /** Node pre-processor: once the deadline passes, every further node fails at once. */
  static void checkDeadline(Node node, JinjavaInterpreter interpreter) {
    RenderState state = current();
    if (state.failure != null) {
      throw state.failure; // unwind fast: Jinja2 would have stopped at the first error
    }
    if (System.nanoTime() - state.deadlineNanos > 0) {
      throw fail("Cannot render chat template: rendering took longer than the limit (a runaway"
          + " loop?); at template line " + node.getLineNumber());
    }
  }

  /** {@code raise_exception(message)}, as transformers defines it for chat templates. */
  public static Object raiseException(Object message) {
    String text = String.valueOf(message);
    throw record(new TemplateRaisedException(text));
  }

  /** {@code strftime_now(format)}: the current local time formatted like Python's strftime. */
  public static String strftimeNow(String format) {
    return Strftime.format(ZonedDateTime.now(current().clock), format);
  }
}
