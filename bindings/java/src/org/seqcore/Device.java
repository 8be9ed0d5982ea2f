package org.seqcore;

/** The devices a {@link SeqcoreRuntime} can run on ({@code seqc_device_kind}). */
public enum Device {
  /** The CPU, with a pool of kernel threads. */
  CPU(0),
  /** An NVIDIA GPU (not available in this release: creating one reports the library's status). */
  CUDA(1);

  private final int code;

  Device(int code) {
    this.code = code;
  }

  /** The C value. */
  public int code() {
    return code;
  }

  static Device fromCode(int code) {
    for (Device d : values()) {
      if (d.code == code) {
        return d;
      }
    }
    throw new IllegalStateException("unknown device kind " + code);
  }
}
