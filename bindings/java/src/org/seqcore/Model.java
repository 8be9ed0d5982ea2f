package org.seqcore;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.seqcore.internal.NativeModel;
import org.seqcore.internal.SeqcoreNative;
import org.seqcore.internal.SeqcoreNativeConstants;

/**
 * A loaded model: a block graph with its weights on one runtime, immutable
 * after load.
 *
 * <pre>{@code
 * try (Model model = Model.load(Paths.get("models/kjv-lstm.safetensors"));
 *      Stream stream = model.newStream()) {
 *   float[] logits = stream.stepToken('I');
 * }
 * }</pre>
 *
 * <p>Streams retain their model: closing a model while streams of it are open
 * only drops this handle's reference, and the streams keep working.
 *
 * <p>Thread safety: a model may be shared by any number of threads.
 */
public final class Model extends Handle {
  final NativeModel nat;
  final ModelInfo info;

  Model(NativeModel nat, ModelInfo info) {
    super("Model", nat::delete);
    this.nat = nat;
    this.info = info;
  }

  private static Model wrap(NativeModel nat) {
    ModelInfo info;
    try {
      info = new ModelInfo(nat);
    } catch (RuntimeException | Error e) {
      nat.delete();
      throw e;
    }
    return new Model(nat, info);
  }

  /**
   * Loads a model file on the process-wide CPU runtime: the native format, or
   * a PyTorch {@code nn.LSTM}/{@code nn.GRU} state dict saved as safetensors.
   *
   * @throws SeqcoreException {@link Status#IO} (cannot read), {@link Status#FORMAT},
   *     {@link Status#VERSION}, {@link Status#CONFIG}, {@link Status#UNKNOWN_PLUGIN},
   *     {@link Status#MISSING_TENSOR}, {@link Status#SHAPE}, {@link Status#DTYPE}, ...
   */
  public static Model load(Path path) {
    return load(null, path);
  }

  /** Loads a model file, as {@link #load(Path)}. */
  public static Model load(String path) {
    return load(null, path);
  }

  /**
   * Loads a model file on the process-wide CPU runtime with options, as
   * {@link #load(SeqcoreRuntime, Path, LoadOptions)}.
   *
   * @since 0.3
   */
  public static Model load(Path path, LoadOptions options) {
    return load(null, path, options);
  }

  /**
   * Loads a model file onto a runtime.
   *
   * @param runtime the runtime, or null for the process-wide CPU runtime
   */
  public static Model load(SeqcoreRuntime runtime, Path path) {
    Objects.requireNonNull(path, "path is null");
    return load(runtime, path.toString());
  }

  /**
   * Loads a model file onto a runtime.
   *
   * @param runtime the runtime, or null for the process-wide CPU runtime
   * @param path    the file, UTF-8
   */
  public static Model load(SeqcoreRuntime runtime, String path) {
    Objects.requireNonNull(path, "path is null");
    if (runtime == null) {
      return wrap(SeqcoreNative.model_load_file(null, path));
    }
    runtime.enter();
    try {
      return wrap(SeqcoreNative.model_load_file(runtime.nat, path));
    } finally {
      runtime.exit();
    }
  }

  /**
   * Loads a model file onto a runtime with options (such as the precision of
   * the weights: {@link LoadOptions#withWeightDType(DType)}).
   *
   * @param runtime the runtime, or null for the process-wide CPU runtime
   * @throws SeqcoreException as {@link #load(Path)}; {@link Status#DTYPE} for a weight
   *     dtype other than F32, BF16 and F16
   * @since 0.3
   */
  public static Model load(SeqcoreRuntime runtime, Path path, LoadOptions options) {
    Objects.requireNonNull(path, "path is null");
    return load(runtime, path.toString(), options);
  }

  /**
   * Loads a model file onto a runtime with options, as
   * {@link #load(SeqcoreRuntime, Path, LoadOptions)}.
   *
   * @since 0.3
   */
  public static Model load(SeqcoreRuntime runtime, String path, LoadOptions options) {
    Objects.requireNonNull(path, "path is null");
    int dtype = Objects.requireNonNull(options, "options is null").weightDType().code();
    if (runtime == null) {
      return wrap(SeqcoreNative.model_load_file_with(null, path, dtype));
    }
    runtime.enter();
    try {
      return wrap(SeqcoreNative.model_load_file_with(runtime.nat, path, dtype));
    } finally {
      runtime.exit();
    }
  }

  /**
   * Loads a model from the bytes of a model file. The bytes are only read
   * during the call.
   *
   * @throws SeqcoreException as {@link #load(Path)}; {@link Status#FORMAT} for truncated bytes
   */
  public static Model fromBytes(byte[] data) {
    return fromBytes(null, data);
  }

  /** Loads a model from bytes onto a runtime (null: the process-wide CPU runtime). */
  public static Model fromBytes(SeqcoreRuntime runtime, byte[] data) {
    return loadBuffer(runtime, Buffers.nonNull(data, "data"));
  }

  /**
   * Loads a model from the remaining bytes of a buffer. A direct buffer (such
   * as a {@link java.nio.MappedByteBuffer} of the file) is read in place.
   */
  public static Model fromBuffer(ByteBuffer data) {
    return fromBuffer(null, data);
  }

  /** Loads a model from a buffer onto a runtime (null: the process-wide CPU runtime). */
  public static Model fromBuffer(SeqcoreRuntime runtime, ByteBuffer data) {
    return loadBuffer(runtime, Buffers.in(data, "data"));
  }

  /**
   * Loads a model from bytes onto a runtime (null: the process-wide CPU
   * runtime) with options.
   *
   * @since 0.3
   */
  public static Model fromBytes(SeqcoreRuntime runtime, byte[] data, LoadOptions options) {
    Objects.requireNonNull(options, "options is null");
    return loadBuffer(runtime, Buffers.nonNull(data, "data"), options);
  }

  /**
   * Loads a model from a buffer onto a runtime (null: the process-wide CPU
   * runtime) with options.
   *
   * @since 0.3
   */
  public static Model fromBuffer(SeqcoreRuntime runtime, ByteBuffer data, LoadOptions options) {
    Objects.requireNonNull(options, "options is null");
    return loadBuffer(runtime, Buffers.in(data, "data"), options);
  }

  private static Model loadBuffer(SeqcoreRuntime runtime, Object data) {
    return loadBuffer(runtime, data, null);
  }

  /** Loads from bytes; null options use the plain load (the defaults). */
  private static Model loadBuffer(SeqcoreRuntime runtime, Object data, LoadOptions options) {
    if (runtime == null) {
      return wrap(options == null ? SeqcoreNative.model_load_buffer(null, data)
          : SeqcoreNative.model_load_buffer_with(null, data, options.weightDType().code()));
    }
    runtime.enter();
    try {
      return wrap(options == null ? SeqcoreNative.model_load_buffer(runtime.nat, data)
          : SeqcoreNative.model_load_buffer_with(runtime.nat, data, options.weightDType().code()));
    } finally {
      runtime.exit();
    }
  }

  /** A new stream of this model at position 0; see {@link Stream#Stream(Model)}. */
  public Stream newStream() {
    return new Stream(this);
  }

  /** What the model consumes: token ids or float frames. */
  public InputKind inputKind() {
    ensureOpen();
    return info.inputKind;
  }

  /** Floats per input frame, or the vocabulary size for a token model. */
  public int inputWidth() {
    ensureOpen();
    return info.inputWidth;
  }

  /** Floats per output position (logits for a language model). */
  public int outputWidth() {
    ensureOpen();
    return info.outputWidth;
  }

  /** Whether the output is logits over the token vocabulary (so sampling and generation apply). */
  public boolean outputIsLogits() {
    ensureOpen();
    return info.outputIsLogits;
  }

  /** The number of blocks in the graph. */
  public int blockCount() {
    ensureOpen();
    return info.blocks.size();
  }

  /** The blocks of the graph, in order (unmodifiable). */
  public List<BlockInfo> blocks() {
    ensureOpen();
    return info.blocks;
  }

  /** Bytes of recurrent state one stream holds. */
  public long stateBytes() {
    ensureOpen();
    return info.stateBytes;
  }

  /** Bytes of weights as held on the device. */
  public long weightBytes() {
    ensureOpen();
    return info.weightBytes;
  }

  /**
   * The precision the weight matrices are held in: {@link DType#F32} unless
   * loaded with other {@link LoadOptions}.
   *
   * @since 0.3
   */
  public DType weightDType() {
    ensureOpen();
    return info.weightDType;
  }

  /** The named state tensors one stream holds (unmodifiable): the state layout. */
  public List<StateTensorInfo> stateLayout() {
    ensureOpen();
    return info.state;
  }

  // ---------------------------------------------------------------- text

  /** The model's tokenizer: {@link Tokenizer#BYTES}, {@link Tokenizer#BPE} or {@link Tokenizer#NONE}. */
  public Tokenizer tokenizer() {
    ensureOpen();
    return info.tokenizer;
  }

  /**
   * The token ids of a text (encoded as UTF-8), without the tokenizer's
   * BOS/EOS and with special tokens such as {@code "<|endoftext|>"} matched.
   *
   * @throws SeqcoreException {@link Status#UNSUPPORTED} when the model has no tokenizer
   */
  public int[] tokenize(String text) {
    return tokenize(text, false, false);
  }

  /**
   * The token ids of a text.
   *
   * @param addSpecial    add the tokenizer's BOS/EOS (HF's add_special_tokens)
   * @param specialAsText do not match special tokens in the text (for untrusted input)
   */
  public int[] tokenize(String text, boolean addSpecial, boolean specialAsText) {
    Objects.requireNonNull(text, "text is null");
    return tokenize(text.getBytes(java.nio.charset.StandardCharsets.UTF_8), addSpecial, specialAsText);
  }

  /** The token ids of raw bytes (any bytes: invalid UTF-8 encodes byte by byte). */
  public int[] tokenize(byte[] text, boolean addSpecial, boolean specialAsText) {
    Buffers.nonNull(text, "text");
    int flags = (addSpecial ? SeqcoreNativeConstants.SEQC_TOKENIZE_ADD_SPECIAL : 0)
        | (specialAsText ? SeqcoreNativeConstants.SEQC_TOKENIZE_SPECIAL_AS_TEXT : 0);
    // A byte-level tokenizer gives at most one id per byte, plus a few specials.
    int[] ids = new int[text.length + 8];
    enter();
    try {
      long n = nat.tokenize_into(text, flags, ids);
      if (n > ids.length) {
        ids = new int[Math.toIntExact(n)];
        n = nat.tokenize_into(text, flags, ids);
      }
      return n == ids.length ? ids : java.util.Arrays.copyOf(ids, (int) n);
    } finally {
      exit();
    }
  }

  /**
   * The text of token ids; bytes that are not UTF-8 become U+FFFD, as in HF's
   * {@code decode}. Ids the tokenizer has no token for (padding rows of a
   * larger embedding) give nothing.
   *
   * @throws SeqcoreException {@link Status#INVALID_ARGUMENT} for an id outside the vocabulary
   */
  public String detokenize(int[] ids) {
    return detokenize(ids, false);
  }

  /** The text of token ids, leaving special tokens out when {@code skipSpecial}. */
  public String detokenize(int[] ids, boolean skipSpecial) {
    return new String(detokenizeBytes(ids, skipSpecial), java.nio.charset.StandardCharsets.UTF_8);
  }

  /** The bytes of the text of token ids. */
  public byte[] detokenizeBytes(int[] ids, boolean skipSpecial) {
    Buffers.nonNull(ids, "ids");
    int flags = skipSpecial ? SeqcoreNativeConstants.SEQC_DETOKENIZE_SKIP_SPECIAL : 0;
    byte[] buf = new byte[4 * ids.length + 16];
    enter();
    try {
      long n = nat.detokenize_into(ids, flags, buf);
      if (n > buf.length) {
        buf = new byte[Math.toIntExact(n)];
        n = nat.detokenize_into(ids, flags, buf);
      }
      return java.util.Arrays.copyOf(buf, (int) n);
    } finally {
      exit();
    }
  }

  /**
   * The bytes of one token, for streaming: they may end inside a UTF-8
   * character, so join consecutive tokens' bytes before decoding (as
   * {@link Stream#text(String, int)} does).
   */
  public byte[] tokenBytes(int id, boolean skipSpecial) {
    int flags = skipSpecial ? SeqcoreNativeConstants.SEQC_DETOKENIZE_SKIP_SPECIAL : 0;
    byte[] buf = new byte[64];
    enter();
    try {
      long n = nat.token_bytes_into(id, flags, buf);
      if (n > buf.length) {
        buf = new byte[Math.toIntExact(n)];
        n = nat.token_bytes_into(id, flags, buf);
      }
      return java.util.Arrays.copyOf(buf, (int) n);
    } finally {
      exit();
    }
  }

  /**
   * The id of a token given by its spelling: a special token's text
   * ({@code "<|endoftext|>"}) or a vocabulary entry as the tokenizer.json
   * writes it; empty if there is none.
   */
  public java.util.OptionalInt tokenId(String token) {
    Objects.requireNonNull(token, "token is null");
    enter();
    try {
      return java.util.OptionalInt.of(nat.token_id(token.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (SeqcoreException e) {
      if (e.status() == Status.NOT_FOUND) {
        return java.util.OptionalInt.empty();
      }
      throw e;
    } finally {
      exit();
    }
  }

  /**
   * The model described as JSON: graph, configs, widths, state layout,
   * fingerprint and metadata.
   */
  public String describe() {
    enter();
    try {
      return nat.describe();
    } finally {
      exit();
    }
  }

  @Override
  public String toString() {
    if (isClosed()) {
      return "Model[closed]";
    }
    return "Model[" + info.inputKind.name().toLowerCase(java.util.Locale.ROOT) + " " + info.inputWidth
        + " -> " + info.outputWidth + (info.outputIsLogits ? " logits" : "") + ", " + info.blocks + "]";
  }
}
