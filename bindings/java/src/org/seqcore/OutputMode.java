package org.seqcore;

/** Which positions of a {@code forward} call write output ({@code seqc_output_mode}). */
public enum OutputMode {
  /** Every position: positions x output width floats. */
  ALL(0),
  /** Only the last position: output width floats. */
  LAST(1),
  /** No output: a state update only, such as a prompt prefill. */
  NONE(2);

  private final int code;

  OutputMode(int code) {
    this.code = code;
  }

  /** The C value. */
  public int code() {
    return code;
  }
}
