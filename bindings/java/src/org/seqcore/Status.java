package org.seqcore;

import org.seqcore.internal.SeqcoreNative;

/** The status codes of the C API ({@code SEQC_OK}, {@code SEQC_ERR_*}), pinned forever. */
public enum Status {
  /** Success. */
  OK(0),
  /** A null or closed handle, a bad enum value, a token outside the vocabulary, frames for a token model. */
  INVALID_ARGUMENT(-1),
  /** An allocation failed. */
  OUT_OF_MEMORY(-2),
  /** A file could not be opened, read or written. */
  IO(-3),
  /** A model file or snapshot is malformed. */
  FORMAT(-4),
  /** A format version this library does not read. */
  VERSION(-5),
  /** A snapshot's checksum does not match its bytes. */
  CHECKSUM(-6),
  /** A config value is invalid. */
  CONFIG(-7),
  /** A block names a plugin the registry does not know. */
  UNKNOWN_PLUGIN(-8),
  /** A weight tensor a block needs is not in the file. */
  MISSING_TENSOR(-9),
  /** A tensor or buffer has the wrong shape or length. */
  SHAPE(-10),
  /** A tensor has a dtype that is not accepted there. */
  DTYPE(-11),
  /** A snapshot of another model, or streams of different models mixed. */
  MISMATCH(-12),
  /** A caller buffer is too small. */
  BUFFER_TOO_SMALL(-13),
  /** A named item (state tensor, registry entry) does not exist. */
  NOT_FOUND(-14),
  /** A valid request this build, device or plugin cannot do. */
  UNSUPPORTED(-15),
  /** The requested device does not exist or has no driver. */
  NO_DEVICE(-16),
  /** The stream is in use by another call on another thread. */
  BUSY(-17),
  /** A bug in the library; the message says where. */
  INTERNAL(-18),
  /** A code this binding does not know (a newer library); see {@link SeqcoreException#code()}. */
  UNKNOWN(Integer.MIN_VALUE);

  private static final Status[] BY_CODE = values();

  private final int code;

  Status(int code) {
    this.code = code;
  }

  /** The C value of this status. */
  public int code() {
    return code;
  }

  /** The library's English text for this status ("invalid argument"). */
  public String description() {
    return SeqcoreNative.status_string(code);
  }

  /** The status with this C value; {@link #UNKNOWN} for an unknown code. */
  public static Status fromCode(int code) {
    if (code <= 0 && code >= INTERNAL.code) {
      return BY_CODE[-code];
    }
    return UNKNOWN;
  }
}
