package org.seqcore;

/** What a model consumes at each position ({@code seqc_input_kind}). */
public enum InputKind {
  /** Integer token ids in {@code [0, inputWidth)}: use the token methods. */
  TOKENS(0),
  /** Frames of {@code inputWidth} floats: use the frame methods. */
  FRAMES(1);

  private final int code;

  InputKind(int code) {
    this.code = code;
  }

  /** The C value. */
  public int code() {
    return code;
  }

  static InputKind fromCode(int code) {
    for (InputKind k : values()) {
      if (k.code == code) {
        return k;
      }
    }
    throw new IllegalStateException("unknown input kind " + code);
  }
}
