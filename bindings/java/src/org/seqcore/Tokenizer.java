package org.seqcore;

/** The tokenizer a model carries ({@code seqc_tokenizer_kind}). */
public enum Tokenizer {
  /** None: the model takes frames, or token ids made elsewhere. */
  NONE(0),
  /** Token id = byte value (vocabulary 256). */
  BYTES(1),
  /** HuggingFace byte-level BPE from a tokenizer.json (encodes exactly as HF tokenizers). */
  BPE(2);

  private final int code;

  Tokenizer(int code) {
    this.code = code;
  }

  /** The C value. */
  public int code() {
    return code;
  }

  static Tokenizer fromCode(int code) {
    for (Tokenizer k : values()) {
      if (k.code == code) {
        return k;
      }
    }
    throw new IllegalStateException("unknown tokenizer kind " + code);
  }
}
