package org.seqcore;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.Objects;

/**
 * Turns the public array and NIO arguments into what the JNI layer takes: a
 * primitive array, or a direct buffer in native byte order sliced at its
 * position (so the native side sees exactly the remaining elements, in place).
 * Any other buffer (a heap buffer, a direct one in the other byte order) is
 * copied. Positions, limits and marks of the caller's buffers never change.
 */
final class Buffers {
  private Buffers() {}

  /** An argument ready for the JNI layer, with the copy-back an output may need. */
  static final class Out {
    final Object arg;
    private final float[] copy;
    private final FloatBuffer target;
    private final byte[] byteCopy;
    private final ByteBuffer byteTarget;

    private Out(Object arg, float[] copy, FloatBuffer target, byte[] byteCopy, ByteBuffer byteTarget) {
      this.arg = arg;
      this.copy = copy;
      this.target = target;
      this.byteCopy = byteCopy;
      this.byteTarget = byteTarget;
    }

    /** Writes a copied output back into the caller's buffer (after success). */
    void commit() {
      if (copy != null) {
        target.duplicate().put(copy);
      } else if (byteCopy != null) {
        byteTarget.duplicate().put(byteCopy);
      }
    }
  }

  static float[] nonNull(float[] a, String what) {
    return Objects.requireNonNull(a, what + " is null");
  }

  static int[] nonNull(int[] a, String what) {
    return Objects.requireNonNull(a, what + " is null");
  }

  static byte[] nonNull(byte[] a, String what) {
    return Objects.requireNonNull(a, what + " is null");
  }

  private static boolean inPlace(Buffer b, ByteOrder order) {
    return b.isDirect() && order == ByteOrder.nativeOrder();
  }

  /** A float input: a native-order direct buffer in place, anything else copied. */
  static Object in(FloatBuffer b, String what) {
    Objects.requireNonNull(b, what + " is null");
    if (inPlace(b, b.order())) {
      return b.slice();
    }
    if (b.hasArray() && b.arrayOffset() + b.position() == 0 && b.remaining() == b.array().length) {
      return b.array();
    }
    float[] a = new float[b.remaining()];
    b.duplicate().get(a);
    return a;
  }

  /** An int input, as {@link #in(FloatBuffer, String)}. */
  static Object in(IntBuffer b, String what) {
    Objects.requireNonNull(b, what + " is null");
    if (inPlace(b, b.order())) {
      return b.slice();
    }
    if (b.hasArray() && b.arrayOffset() + b.position() == 0 && b.remaining() == b.array().length) {
      return b.array();
    }
    int[] a = new int[b.remaining()];
    b.duplicate().get(a);
    return a;
  }

  /** A byte input: a direct buffer in place (byte order is irrelevant), anything else copied. */
  static Object in(ByteBuffer b, String what) {
    Objects.requireNonNull(b, what + " is null");
    if (b.isDirect()) {
      return b.slice();
    }
    if (b.hasArray() && b.arrayOffset() + b.position() == 0 && b.remaining() == b.array().length) {
      return b.array();
    }
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return a;
  }

  /** A float output: a native-order direct buffer in place, anything else through a copy. */
  static Out out(FloatBuffer b, String what) {
    Objects.requireNonNull(b, what + " is null");
    if (b.isReadOnly()) {
      throw new ReadOnlyBufferException();
    }
    if (inPlace(b, b.order())) {
      return new Out(b.slice(), null, null, null, null);
    }
    float[] a = new float[b.remaining()];
    b.duplicate().get(a);
    return new Out(a, a, b, null, null);
  }

  /** A byte output: a direct buffer in place, anything else through a copy. */
  static Out out(ByteBuffer b, String what) {
    Objects.requireNonNull(b, what + " is null");
    if (b.isReadOnly()) {
      throw new ReadOnlyBufferException();
    }
    if (b.isDirect()) {
      return new Out(b.slice(), null, null, null, null);
    }
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return new Out(a, null, null, a, b);
  }

  /** Floats as bytes in native order (state tensors are host memory). */
  static byte[] toBytes(float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.nativeOrder());
    b.asFloatBuffer().put(values);
    return b.array();
  }

  /** Bytes in native order as floats. */
  static float[] toFloats(byte[] bytes) {
    float[] values = new float[bytes.length / Float.BYTES];
    ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder()).asFloatBuffer().get(values);
    return values;
  }
}
