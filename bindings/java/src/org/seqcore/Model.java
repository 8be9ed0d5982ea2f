package org.seqcore;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.seqcore.internal.NativeModel;
import org.seqcore.internal.SeqcoreNative;

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

  private static Model loadBuffer(SeqcoreRuntime runtime, Object data) {
    if (runtime == null) {
      return wrap(SeqcoreNative.model_load_buffer(null, data));
    }
    runtime.enter();
    try {
      return wrap(SeqcoreNative.model_load_buffer(runtime.nat, data));
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

  /** The named state tensors one stream holds (unmodifiable): the state layout. */
  public List<StateTensorInfo> stateLayout() {
    ensureOpen();
    return info.state;
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
