package org.seqcore;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The life cycle shared by every native handle: an idempotent {@link #close()},
 * a clear error on use after close, and a {@link Cleaner} that frees what
 * {@code close()} did not once the handle is unreachable.
 *
 * <p>Each native call is bracketed by {@link #enter()} and {@link #exit()}. A
 * {@code close()} that races with calls in flight on other threads marks the
 * handle closed at once (new calls fail) and the last call to finish frees the
 * native object, so a close can never pull memory out from under a running
 * call, whatever the threads do.
 */
abstract class Handle implements AutoCloseable {
  private static final Cleaner CLEANER = Cleaner.create();

  /** Bit 0: closed. Bits 1 and up: native calls in flight. */
  private final AtomicInteger state = new AtomicInteger();
  private final Cleaner.Cleanable cleanable;
  private final String kind;

  /**
   * @param kind    the class name used in messages ("Stream")
   * @param release frees the native object; must not refer to this handle
   */
  Handle(String kind, Runnable release) {
    this.kind = kind;
    this.cleanable = CLEANER.register(this, release);
  }

  /** Starts a native call: throws if closed, otherwise pins the native object. */
  final void enter() {
    for (;;) {
      int s = state.get();
      if ((s & 1) != 0) {
        throw closedError();
      }
      if (state.compareAndSet(s, s + 2)) {
        return;
      }
    }
  }

  /** Ends a native call started by {@link #enter()}; frees the object if closed meanwhile. */
  final void exit() {
    if (state.addAndGet(-2) == 1) {
      cleanable.clean();
    }
  }

  /** Throws the closed-handle error if this handle is closed. */
  final void ensureOpen() {
    if (isClosed()) {
      throw closedError();
    }
  }

  private SeqcoreException closedError() {
    return new SeqcoreException(Status.INVALID_ARGUMENT, kind + " is closed");
  }

  /**
   * Whether {@link #close()} has been called. (Not final, so that javac gives
   * each public subclass a public bridge and reflection can call it.)
   */
  public boolean isClosed() {
    return (state.get() & 1) != 0;
  }

  /**
   * Releases the native object. Closing twice is a no-op; any later call on
   * this handle throws {@link SeqcoreException} with status
   * {@link Status#INVALID_ARGUMENT} and the message "&lt;Kind&gt; is closed".
   */
  @Override
  public void close() {
    for (;;) {
      int s = state.get();
      if ((s & 1) != 0) {
        return;
      }
      if (state.compareAndSet(s, s | 1)) {
        if (s == 0) {
          cleanable.clean();
        }
        return;
      }
    }
  }
}
