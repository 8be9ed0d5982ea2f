package org.seqcore;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.seqcore.internal.NativeStreamBatch;

/**
 * A reusable list of streams of one model, stepped together by one position
 * each in one batched call ({@code seqc_stream_step_many}), or generating a
 * token each ({@link #generate(int[])}). Row {@code i} of
 * the input and of the output belongs to the {@code i}-th stream added; each
 * stream may be at its own position, and the results are bit for bit those of
 * stepping each stream alone.
 *
 * <pre>{@code
 * try (StreamBatch batch = new StreamBatch(List.of(a, b, c))) {
 *   float[] logits = batch.stepTokens(new int[] {'a', 'b', 'c'}); // 3 x vocabulary
 * }
 * }</pre>
 *
 * <p>The batch refers to its streams without owning them: closing the batch
 * leaves them open, and a stream closed while in a batch makes the next step
 * fail with "Stream is closed". A batch is used by one thread at a time.
 */
public final class StreamBatch extends Handle {
  private final NativeStreamBatch nat;
  private final List<Stream> streams = new ArrayList<>();

  /** An empty batch. */
  public StreamBatch() {
    this(new NativeStreamBatch());
  }

  /** A batch of these streams, in order. */
  public StreamBatch(Collection<Stream> streams) {
    this();
    Objects.requireNonNull(streams, "streams is null");
    try {
      for (Stream s : streams) {
        add(s);
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  private StreamBatch(NativeStreamBatch nat) {
    super("StreamBatch", nat::delete);
    this.nat = nat;
  }

  /** Appends a stream (one more row of input and output). */
  public void add(Stream stream) {
    Objects.requireNonNull(stream, "stream is null");
    enter();
    try {
      stream.enter();
      try {
        nat.add(stream.nat);
      } finally {
        stream.exit();
      }
      streams.add(stream);
    } finally {
      exit();
    }
  }

  /** Removes every stream. */
  public void clear() {
    enter();
    try {
      nat.clear();
      streams.clear();
    } finally {
      exit();
    }
  }

  /** The number of streams. */
  public int size() {
    ensureOpen();
    return streams.size();
  }

  /** The streams, in row order (unmodifiable view). */
  public List<Stream> streams() {
    ensureOpen();
    return Collections.unmodifiableList(streams);
  }

  private int outputLength() {
    return streams.isEmpty() ? 0 : streams.size() * streams.get(0).info.outputWidth;
  }

  /**
   * Steps every stream by one frame.
   *
   * @param frames streams x input width floats, row-major
   * @return streams x output width floats
   * @throws SeqcoreException {@link Status#MISMATCH} (streams of different models),
   *     {@link Status#INVALID_ARGUMENT} (a stream twice, a closed stream), {@link Status#SHAPE}
   */
  public float[] step(float[] frames) {
    Buffers.nonNull(frames, "frames");
    ensureOpen();
    float[] out = new float[outputLength()];
    step(frames, out);
    return out;
  }

  /** As {@link #step(float[])}, writing into {@code out}. */
  public void step(float[] frames, float[] out) {
    Buffers.nonNull(frames, "frames");
    Buffers.nonNull(out, "out");
    run(frames, out, false);
  }

  /** As {@link #step(float[])}, with buffers. */
  public void step(FloatBuffer frames, FloatBuffer out) {
    Object in = Buffers.in(frames, "frames");
    Buffers.Out o = Buffers.out(out, "out");
    run(in, o.arg, false);
    o.commit();
  }

  /**
   * Steps every stream by one token.
   *
   * @param tokens one token id per stream
   * @return streams x output width floats
   */
  public float[] stepTokens(int[] tokens) {
    Buffers.nonNull(tokens, "tokens");
    ensureOpen();
    float[] out = new float[outputLength()];
    stepTokens(tokens, out);
    return out;
  }

  /** As {@link #stepTokens(int[])}, writing into {@code out}. */
  public void stepTokens(int[] tokens, float[] out) {
    Buffers.nonNull(tokens, "tokens");
    Buffers.nonNull(out, "out");
    run(tokens, out, true);
  }

  /** As {@link #stepTokens(int[])}, with buffers. */
  public void stepTokens(IntBuffer tokens, FloatBuffer out) {
    Object in = Buffers.in(tokens, "tokens");
    Buffers.Out o = Buffers.out(out, "out");
    run(in, o.arg, true);
    o.commit();
  }

  /**
   * Generation over every stream in one batched call
   * ({@code seqc_stream_generate_many}): feeds {@code tokens[i]} to the
   * {@code i}-th stream and returns the token it samples next, with that
   * stream's own sampling settings and generator. Each result is exactly that
   * of {@code stream.generate(tokens[i])}. As with {@link Stream#generate(int...)},
   * the returned tokens have not been fed yet: pass them to the next call.
   *
   * <pre>{@code
   * int[] last = batch.generate(firstTokens);
   * for (int i = 0; i < n; i++) {
   *   last = batch.generate(last);
   * }
   * }</pre>
   *
   * @param tokens one token id per stream
   * @return one token id per stream
   * @throws SeqcoreException {@link Status#INVALID_ARGUMENT} (a token out of range, a stream
   *     twice, a closed stream, not a token-to-logits model), {@link Status#MISMATCH}
   *     (streams of different models), {@link Status#SHAPE} (not one token per stream).
   *     On failure no stream changes.
   * @since 0.3
   */
  public int[] generate(int[] tokens) {
    Buffers.nonNull(tokens, "tokens");
    ensureOpen();
    int[] out = new int[streams.size()];
    generate(tokens, out);
    return out;
  }

  /** As {@link #generate(int[])}, writing into {@code out} (at least one element per stream). */
  public void generate(int[] tokens, int[] out) {
    Buffers.nonNull(tokens, "tokens");
    Buffers.nonNull(out, "out");
    run(tokens, out, Op.GENERATE);
  }

  private void run(Object in, Object out, boolean tokens) {
    run(in, out, tokens ? Op.STEP_TOKENS : Op.STEP);
  }

  private enum Op { STEP, STEP_TOKENS, GENERATE }

  /** Pins the batch and every stream (so none is freed meanwhile), then runs the call. */
  private void run(Object in, Object out, Op op) {
    enter();
    int entered = 0;
    try {
      for (Stream s : streams) {
        s.enter();
        entered++;
      }
      switch (op) {
        case STEP_TOKENS:
          nat.step_tokens(in, out);
          break;
        case GENERATE:
          nat.generate(in, out);
          break;
        default:
          nat.step(in, out);
          break;
      }
    } finally {
      for (int i = 0; i < entered; i++) {
        streams.get(i).exit();
      }
      exit();
    }
  }

  @Override
  public String toString() {
    return isClosed() ? "StreamBatch[closed]" : "StreamBatch[" + streams.size() + " streams]";
  }
}
