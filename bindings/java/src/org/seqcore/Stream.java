package org.seqcore;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import org.seqcore.internal.NativeStream;

/**
 * One sequence's state: every stateful block's tensors, the position, the
 * sampler settings and its random generator.
 *
 * <pre>{@code
 * try (Model model = Model.load(Paths.get("models/kjv-lstm.safetensors"));
 *      Stream stream = model.newStream()) {
 *   stream.setSampling(0.8f, 40, 0.95f);
 *   stream.setSeed(1234);
 *   for (String piece : stream.text("In the beginning", 200)) {
 *     System.out.print(piece);
 *   }
 * }
 * }</pre>
 *
 * <h2>Arrays and buffers</h2>
 * Every input and output comes in two forms: Java arrays ({@code float[]},
 * {@code int[]}), which the JVM copies across the native boundary, and NIO
 * buffers. A <em>direct</em> buffer in native byte order ({@code
 * ByteBuffer.allocateDirect(n).order(ByteOrder.nativeOrder()).asFloatBuffer()})
 * is read and written in place, without a copy; any other buffer is copied.
 * A buffer's content is taken from its position to its limit, and its
 * position, limit and mark are left unchanged. Methods without an output
 * argument allocate and return the output array.
 *
 * <h2>Ownership and threads</h2>
 * A stream retains its model, so it keeps working after the {@link Model}
 * handle is closed. A stream is used by one thread at a time; it may move
 * between threads. A second concurrent call on the same stream fails with
 * {@link Status#BUSY} instead of corrupting it. Close streams when done (or use
 * try-with-resources); a {@link java.lang.ref.Cleaner} frees forgotten ones
 * after garbage collection.
 *
 * <p>Failures throw {@link SeqcoreException} and leave the stream unchanged;
 * null arguments throw {@link NullPointerException}.
 */
public final class Stream extends Handle {
  final NativeStream nat;
  final ModelInfo info;

  /**
   * A new stream of the model at position 0, with zero state, greedy sampling
   * and seed 0. The stream retains the model.
   *
   * @throws SeqcoreException the model is closed; {@link Status#OUT_OF_MEMORY}
   */
  public Stream(Model model) {
    this(create(Objects.requireNonNull(model, "model is null")), model.info);
  }

  private Stream(NativeStream nat, ModelInfo info) {
    super("Stream", nat::delete);
    this.nat = nat;
    this.info = info;
  }

  private static NativeStream create(Model model) {
    model.enter();
    try {
      return new NativeStream(model.nat);
    } finally {
      model.exit();
    }
  }

  // ---------------------------------------------------------------- info

  /**
   * The stream's model, as a new handle holding its own reference: close it
   * when done. It stays valid after this stream is closed.
   */
  public Model model() {
    enter();
    try {
      return new Model(nat.model(), info);
    } finally {
      exit();
    }
  }

  /** What the model consumes: token ids or float frames. */
  public InputKind inputKind() {
    return info.inputKind;
  }

  /** Floats per input frame, or the vocabulary size for a token model. */
  public int inputWidth() {
    return info.inputWidth;
  }

  /** The model's tokenizer. */
  public Tokenizer tokenizer() {
    return info.tokenizer;
  }

  /** Floats per output position. */
  public int outputWidth() {
    return info.outputWidth;
  }

  /** Positions consumed since creation or the last {@link #reset()}. */
  public long position() {
    enter();
    try {
      return nat.position();
    } finally {
      exit();
    }
  }

  /**
   * Returns to the state of a new stream: zero state, position 0, and the
   * random generator re-seeded from the last seed set (sampling settings are
   * kept).
   */
  public void reset() {
    enter();
    try {
      nat.reset();
    } finally {
      exit();
    }
  }

  // ---------------------------------------------------------------- stepping

  /**
   * Advances by one position with a float frame.
   *
   * @param frame {@link #inputWidth()} floats
   * @return the output, {@link #outputWidth()} floats
   * @throws SeqcoreException {@link Status#SHAPE} (frame length),
   *     {@link Status#INVALID_ARGUMENT} (a token model)
   */
  public float[] step(float[] frame) {
    float[] out = new float[info.outputWidth];
    step(frame, out);
    return out;
  }

  /**
   * Advances by one position with a float frame, writing the output into
   * {@code out} (at least {@link #outputWidth()} floats; an empty array for a
   * state update only).
   *
   * @throws SeqcoreException {@link Status#SHAPE}, {@link Status#BUFFER_TOO_SMALL}
   */
  public void step(float[] frame, float[] out) {
    Buffers.nonNull(frame, "frame");
    Buffers.nonNull(out, "out");
    enter();
    try {
      nat.step(frame, out);
    } finally {
      exit();
    }
  }

  /** Advances by one position with a frame from a buffer, writing the output into a buffer. */
  public void step(FloatBuffer frame, FloatBuffer out) {
    Object in = Buffers.in(frame, "frame");
    Buffers.Out o = Buffers.out(out, "out");
    enter();
    try {
      nat.step(in, o.arg);
    } finally {
      exit();
    }
    o.commit();
  }

  /**
   * Advances by one position with a token id.
   *
   * @return the output, {@link #outputWidth()} floats (logits for a language model)
   * @throws SeqcoreException {@link Status#INVALID_ARGUMENT}: a token outside
   *     {@code [0, inputWidth())}, or a frame model
   */
  public float[] stepToken(int token) {
    float[] out = new float[info.outputWidth];
    stepToken(token, out);
    return out;
  }

  /** Advances by one position with a token id, writing the output into {@code out}. */
  public void stepToken(int token, float[] out) {
    Buffers.nonNull(out, "out");
    enter();
    try {
      nat.step_token(token, out);
    } finally {
      exit();
    }
  }

  /** Advances by one position with a token id, writing the output into a buffer. */
  public void stepToken(int token, FloatBuffer out) {
    Buffers.Out o = Buffers.out(out, "out");
    enter();
    try {
      nat.step_token(token, o.arg);
    } finally {
      exit();
    }
    o.commit();
  }

  /** The floats a forward over {@code positions} positions writes in this mode. */
  private int outputLength(long positions, OutputMode mode) {
    switch (mode) {
      case ALL:
        return Math.toIntExact(positions * info.outputWidth);
      case LAST:
        return positions > 0 ? info.outputWidth : 0;
      default:
        return 0;
    }
  }

  /**
   * Advances by {@code frames.length / inputWidth()} frames in one call, with
   * each block's sequence algorithm. The outputs are bit for bit those of as
   * many {@link #step(float[])} calls.
   *
   * @param frames row-major frames, a multiple of {@link #inputWidth()} floats
   * @param mode   which positions produce output
   * @return ALL: positions x output width floats; LAST: output width floats; NONE: empty
   * @throws SeqcoreException {@link Status#SHAPE} (not a multiple of the input width)
   */
  public float[] forward(float[] frames, OutputMode mode) {
    Buffers.nonNull(frames, "frames");
    Objects.requireNonNull(mode, "mode is null");
    float[] out = new float[outputLength(frames.length / Math.max(1, info.inputWidth), mode)];
    forward(frames, mode, out);
    return out;
  }

  /** As {@link #forward(float[], OutputMode)}, writing into {@code out}. */
  public void forward(float[] frames, OutputMode mode, float[] out) {
    Buffers.nonNull(frames, "frames");
    Objects.requireNonNull(mode, "mode is null");
    Buffers.nonNull(out, "out");
    enter();
    try {
      nat.forward(frames, mode.code(), out);
    } finally {
      exit();
    }
  }

  /** As {@link #forward(float[], OutputMode)}, with buffers. */
  public void forward(FloatBuffer frames, OutputMode mode, FloatBuffer out) {
    Objects.requireNonNull(mode, "mode is null");
    Object in = Buffers.in(frames, "frames");
    Buffers.Out o = Buffers.out(out, "out");
    enter();
    try {
      nat.forward(in, mode.code(), o.arg);
    } finally {
      exit();
    }
    o.commit();
  }

  /**
   * Advances by {@code tokens.length} token ids in one call. A token outside
   * the vocabulary fails the whole call before any state changes.
   *
   * @return ALL: tokens x output width floats; LAST: output width floats; NONE: empty
   */
  public float[] forwardTokens(int[] tokens, OutputMode mode) {
    Buffers.nonNull(tokens, "tokens");
    Objects.requireNonNull(mode, "mode is null");
    float[] out = new float[outputLength(tokens.length, mode)];
    forwardTokens(tokens, mode, out);
    return out;
  }

  /** As {@link #forwardTokens(int[], OutputMode)}, writing into {@code out}. */
  public void forwardTokens(int[] tokens, OutputMode mode, float[] out) {
    Buffers.nonNull(tokens, "tokens");
    Objects.requireNonNull(mode, "mode is null");
    Buffers.nonNull(out, "out");
    enter();
    try {
      nat.forward_tokens(tokens, mode.code(), out);
    } finally {
      exit();
    }
  }

  /** As {@link #forwardTokens(int[], OutputMode)}, with buffers. */
  public void forwardTokens(IntBuffer tokens, OutputMode mode, FloatBuffer out) {
    Objects.requireNonNull(mode, "mode is null");
    Object in = Buffers.in(tokens, "tokens");
    Buffers.Out o = Buffers.out(out, "out");
    enter();
    try {
      nat.forward_tokens(in, mode.code(), o.arg);
    } finally {
      exit();
    }
    o.commit();
  }

  /**
   * Steps several streams of one model by one position each, in one batched
   * call; row {@code i} of {@code frames} and of the result belongs to
   * {@code streams.get(i)}. Bit for bit the results of stepping each alone.
   * To step the same streams repeatedly, a {@link StreamBatch} saves the
   * per-call setup.
   *
   * @return streams x output width floats
   * @throws SeqcoreException {@link Status#MISMATCH} (streams of different models),
   *     {@link Status#INVALID_ARGUMENT} (a stream twice), {@link Status#SHAPE}
   */
  public static float[] stepMany(List<Stream> streams, float[] frames) {
    try (StreamBatch batch = new StreamBatch(streams)) {
      return batch.step(frames);
    }
  }

  /** As {@link #stepMany(List, float[])}, writing into {@code out}. */
  public static void stepMany(List<Stream> streams, float[] frames, float[] out) {
    try (StreamBatch batch = new StreamBatch(streams)) {
      batch.step(frames, out);
    }
  }

  /** Steps several streams by one token each, as {@link #stepMany(List, float[])}. */
  public static float[] stepManyTokens(List<Stream> streams, int[] tokens) {
    try (StreamBatch batch = new StreamBatch(streams)) {
      return batch.stepTokens(tokens);
    }
  }

  /** As {@link #stepManyTokens(List, int[])}, writing into {@code out}. */
  public static void stepManyTokens(List<Stream> streams, int[] tokens, float[] out) {
    try (StreamBatch batch = new StreamBatch(streams)) {
      batch.stepTokens(tokens, out);
    }
  }

  /**
   * Generation over several streams of one language model in one batched
   * call: feeds {@code tokens[i]} to {@code streams.get(i)} and returns the
   * token each samples next, with its own sampling settings and generator;
   * element {@code i} is exactly what {@code streams.get(i).generate(tokens[i])}
   * would return. Feed prompts with {@link #generate(int...)} or
   * {@link #forwardTokens(int[], OutputMode)} first. To generate with the same
   * streams repeatedly, {@link StreamBatch#generate(int[])} saves the per-call
   * setup.
   *
   * @return one token id per stream, not yet fed
   * @throws SeqcoreException {@link Status#INVALID_ARGUMENT} (a token out of range, a stream
   *     twice, not a token-to-logits model), {@link Status#MISMATCH} (streams of different
   *     models), {@link Status#SHAPE} (not one token per stream). On failure no stream changes.
   * @since 0.3
   */
  public static int[] generateMany(List<Stream> streams, int[] tokens) {
    try (StreamBatch batch = new StreamBatch(streams)) {
      return batch.generate(tokens);
    }
  }

  // ---------------------------------------------------------------- sampling

  /**
   * Sets how tokens are sampled (by {@link #sample(float[])} and the
   * generation methods).
   *
   * @param temperature 0 for greedy (argmax, lowest id on ties), otherwise &gt; 0
   * @param topK        keep the k most likely tokens; 0 keeps all
   * @param topP        keep the smallest most likely set reaching this probability, in (0, 1]
   * @throws SeqcoreException {@link Status#INVALID_ARGUMENT} (NaN, negative, topP outside (0, 1])
   */
  public void setSampling(float temperature, int topK, float topP) {
    enter();
    try {
      nat.set_sampling(temperature, topK, topP);
    } finally {
      exit();
    }
  }

  /** Greedy sampling: always the most likely token. */
  public void setGreedy() {
    setSampling(0f, 0, 1f);
  }

  /**
   * Seeds the random generator. The seed is an unsigned 64-bit value: a
   * negative long stands for its two's-complement bits.
   */
  public void setSeed(long seed) {
    enter();
    try {
      nat.set_seed(seed);
    } finally {
      exit();
    }
  }

  /**
   * Samples a token id from logits with this stream's settings and generator
   * (which advances); the recurrent state does not change.
   *
   * @param logits {@link #outputWidth()} floats
   * @throws SeqcoreException {@link Status#SHAPE}
   */
  public int sample(float[] logits) {
    Buffers.nonNull(logits, "logits");
    enter();
    try {
      return nat.sample(logits);
    } finally {
      exit();
    }
  }

  /** As {@link #sample(float[])}, from a buffer. */
  public int sample(FloatBuffer logits) {
    Object in = Buffers.in(logits, "logits");
    enter();
    try {
      return nat.sample(in);
    } finally {
      exit();
    }
  }

  /**
   * Feeds one or more token ids (a prompt, or the token sampled last) and
   * samples the next token from the output at the last position. A generation
   * loop is {@code t = generate(prompt)}, then {@code t = generate(t)}
   * repeatedly; {@link #tokens(int[], int)} does exactly that.
   *
   * @throws SeqcoreException {@link Status#INVALID_ARGUMENT}: not a
   *     token-to-logits model, no tokens, a token out of range
   */
  public int generate(int... tokens) {
    Buffers.nonNull(tokens, "tokens");
    enter();
    try {
      return nat.generate(tokens);
    } finally {
      exit();
    }
  }

  /** As {@link #generate(int...)}, with the tokens in a buffer. */
  public int generate(IntBuffer tokens) {
    Object in = Buffers.in(tokens, "tokens");
    enter();
    try {
      return nat.generate(in);
    } finally {
      exit();
    }
  }

  /**
   * Generates up to {@code maxTokens} tokens after a prompt, lazily: each
   * {@code nextInt()} generates one. Iterate it with a for-each loop or turn it
   * into an {@link java.util.stream.IntStream}.
   *
   * @param prompt    at least one token id
   * @param maxTokens how many tokens to generate at most
   */
  public TokenGenerator tokens(int[] prompt, int maxTokens) {
    return new TokenGenerator(this, prompt, maxTokens);
  }

  /** The next {@code count} tokens after a prompt, as an array. */
  public int[] generateTokens(int[] prompt, int count) {
    TokenGenerator g = tokens(prompt, count);
    int[] out = new int[count];
    for (int i = 0; i < count; i++) {
      out[i] = g.nextInt();
    }
    return out;
  }

  /**
   * Generates text after a prompt through the model's tokenizer (byte-level
   * or BPE; the prompt gets the tokenizer's BOS if it has one), lazily, as
   * pieces of decoded UTF-8. Each piece holds the characters that one or more
   * generated tokens completed, so a multi-byte character is never split;
   * malformed bytes decode as U+FFFD. Generation stops after {@code maxBytes}
   * tokens, or at a special token (end of text); see {@link TextGenerator}.
   *
   * @param prompt   the prompt (not empty)
   * @param maxBytes how many tokens to generate at most (bytes, for a byte-level model)
   */
  public TextGenerator text(String prompt, int maxBytes) {
    Objects.requireNonNull(prompt, "prompt is null");
    return new TextGenerator(this, prompt.getBytes(StandardCharsets.UTF_8), maxBytes);
  }

  /** All the text of {@link #text(String, int)}, as one string. */
  public String generateText(String prompt, int maxBytes) {
    StringBuilder sb = new StringBuilder();
    for (String piece : text(prompt, maxBytes)) {
      sb.append(piece);
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------- snapshots

  /** The size in bytes of a snapshot of the stream as it is now. */
  public long snapshotSize() {
    enter();
    try {
      return nat.snapshot_size();
    } finally {
      exit();
    }
  }

  /**
   * A snapshot: the state, position, sampler settings and generator as a
   * self-contained little-endian blob that {@link #restore(byte[])} accepts in
   * a stream of the same model, in any process.
   */
  public byte[] snapshot() {
    enter();
    try {
      byte[] blob = new byte[Math.toIntExact(nat.snapshot_size())];
      long n = nat.snapshot_into(blob);
      return n == blob.length ? blob : java.util.Arrays.copyOf(blob, (int) n);
    } finally {
      exit();
    }
  }

  /**
   * Writes a snapshot into the remaining bytes of {@code dst} (the buffer's
   * position is left unchanged).
   *
   * @return the bytes written
   * @throws SeqcoreException {@link Status#BUFFER_TOO_SMALL}
   */
  public long snapshot(ByteBuffer dst) {
    Buffers.Out o = Buffers.out(dst, "dst");
    long n;
    enter();
    try {
      n = nat.snapshot_into(o.arg);
    } finally {
      exit();
    }
    o.commit();
    return n;
  }

  /**
   * Restores a snapshot. Everything is checked before anything is written; a
   * refused snapshot leaves the stream unchanged.
   *
   * @throws SeqcoreException {@link Status#FORMAT} (malformed, truncated),
   *     {@link Status#VERSION}, {@link Status#CHECKSUM}, {@link Status#MISMATCH} (another model)
   */
  public void restore(byte[] snapshot) {
    Buffers.nonNull(snapshot, "snapshot");
    enter();
    try {
      nat.restore(snapshot);
    } finally {
      exit();
    }
  }

  /** Restores a snapshot from the remaining bytes of a buffer. */
  public void restore(ByteBuffer snapshot) {
    Object in = Buffers.in(snapshot, "snapshot");
    enter();
    try {
      nat.restore(in);
    } finally {
      exit();
    }
  }

  /**
   * An independent copy of this stream (state, position, sampler settings and
   * generator): both continue identically given the same inputs.
   */
  public Stream fork() {
    enter();
    try {
      return new Stream(nat.fork(), info);
    } finally {
      exit();
    }
  }

  // ---------------------------------------------------------------- state

  /**
   * Copies one named state tensor out of the stream, as raw bytes in the
   * host's byte order ({@link Model#stateLayout()} gives names, dtypes and
   * shapes).
   *
   * @throws SeqcoreException {@link Status#NOT_FOUND} (no such tensor)
   */
  public byte[] readState(String name) {
    Objects.requireNonNull(name, "name is null");
    StateTensorInfo t = info.stateTensor(name);
    byte[] buf = new byte[t == null ? 0 : Math.toIntExact(t.nbytes())];
    enter();
    try {
      nat.state_read(name, buf);
    } finally {
      exit();
    }
    return buf;
  }

  /**
   * Copies one named f32 state tensor out of the stream, row-major.
   *
   * @throws SeqcoreException {@link Status#NOT_FOUND}; {@link Status#DTYPE} (not f32)
   */
  public float[] readStateFloats(String name) {
    requireF32(name);
    return Buffers.toFloats(readState(name));
  }

  /**
   * Overwrites one named state tensor with raw bytes in the host's byte order;
   * the position does not change.
   *
   * @throws SeqcoreException {@link Status#NOT_FOUND}; {@link Status#SHAPE} (length)
   */
  public void writeState(String name, byte[] bytes) {
    Objects.requireNonNull(name, "name is null");
    Buffers.nonNull(bytes, "bytes");
    enter();
    try {
      nat.state_write(name, bytes);
    } finally {
      exit();
    }
  }

  /**
   * Overwrites one named f32 state tensor, row-major.
   *
   * @throws SeqcoreException {@link Status#NOT_FOUND}; {@link Status#DTYPE}; {@link Status#SHAPE}
   */
  public void writeStateFloats(String name, float[] values) {
    Buffers.nonNull(values, "values");
    requireF32(name);
    writeState(name, Buffers.toBytes(values));
  }

  private void requireF32(String name) {
    Objects.requireNonNull(name, "name is null");
    StateTensorInfo t = info.stateTensor(name);
    if (t != null && t.dtype() != DType.F32) {
      throw new SeqcoreException(Status.DTYPE,
          "state tensor " + name + " is " + t.dtype() + ", not F32: use readState/writeState");
    }
  }

  @Override
  public String toString() {
    return isClosed() ? "Stream[closed]" : "Stream[position " + position() + "]";
  }
}
