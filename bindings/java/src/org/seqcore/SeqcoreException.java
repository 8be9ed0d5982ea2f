package org.seqcore;

import java.nio.charset.StandardCharsets;

/**
 * A failure reported by libseqcore: the {@link Status} of the C call and the
 * library's detail message.
 *
 * <p>The exception is unchecked. Almost every failure is a programming error
 * the caller cannot recover from locally (a wrong shape, a closed handle, a
 * token outside the vocabulary), as with {@link IllegalArgumentException}; the
 * few that are environmental ({@link Status#IO} when loading a file,
 * {@link Status#FORMAT} for a corrupt snapshot) are documented on the methods
 * that can raise them and can be caught by status where it matters. Unchecked
 * exceptions also keep the API usable from lambdas, iterators and streams.
 *
 * <pre>{@code
 * try (Model m = Model.load(path)) {
 *   ...
 * } catch (SeqcoreException e) {
 *   if (e.status() == Status.IO) { ... }
 * }
 * }</pre>
 */
public class SeqcoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int code;

  /**
   * Creates an exception with a status and a message.
   *
   * @param status  the status, not {@link Status#OK}
   * @param message the detail message
   */
  public SeqcoreException(Status status, String message) {
    super(message);
    this.code = status.code();
  }

  /** Thrown from native code: the raw status code and the UTF-8 message bytes. */
  SeqcoreException(int code, byte[] utf8Message) {
    super(new String(utf8Message, StandardCharsets.UTF_8));
    this.code = code;
  }

  /** The status; {@link Status#UNKNOWN} for a code newer than this binding. */
  public Status status() {
    return Status.fromCode(code);
  }

  /** The raw status code, as the C API returned it (negative). */
  public int code() {
    return code;
  }

  /** The class name, the status and the library's message. */
  @Override
  public String toString() {
    return getClass().getName() + " [" + status() + "]: " + getMessage();
  }
}
