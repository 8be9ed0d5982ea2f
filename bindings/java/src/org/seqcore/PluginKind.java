package org.seqcore;

/** The kinds of registry entries ({@code seqc_plugin_kind}). */
public enum PluginKind {
  /** A stateless layer (embedding, linear, norm, activation). */
  LAYER(0),
  /** A recurrent block with per-stream state (LSTM, GRU). */
  RECURRENT(1),
  /** A weight quantizer. */
  QUANTIZER(2),
  /** A memory block. */
  MEMORY(3);

  private final int code;

  PluginKind(int code) {
    this.code = code;
  }

  /** The C value. */
  public int code() {
    return code;
  }

  static PluginKind fromCode(int code) {
    for (PluginKind k : values()) {
      if (k.code == code) {
        return k;
      }
    }
    throw new IllegalStateException("unknown plugin kind " + code);
  }
}
