package org.seqcore;

/** Element types of tensors ({@code seqc_dtype}). */
public enum DType {
  /** 32-bit IEEE float. */
  F32(0, 4),
  /** 16-bit IEEE float. */
  F16(1, 2),
  /** bfloat16. */
  BF16(2, 2),
  /** Signed 8-bit integer. */
  I8(3, 1),
  /** Signed 32-bit integer. */
  I32(4, 4),
  /** Unsigned 8-bit integer. */
  U8(5, 1),
  /** Signed 64-bit integer. */
  I64(6, 8),
  /** 64-bit IEEE float. */
  F64(7, 8);

  private final int code;
  private final int size;

  DType(int code, int size) {
    this.code = code;
    this.size = size;
  }

  /** The C value. */
  public int code() {
    return code;
  }

  /** Bytes per element. */
  public int size() {
    return size;
  }

  static DType fromCode(int code) {
    for (DType t : values()) {
      if (t.code == code) {
        return t;
      }
    }
    throw new IllegalStateException("unknown dtype " + code);
  }
}
