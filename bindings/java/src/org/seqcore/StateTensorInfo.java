package org.seqcore;

import java.util.Arrays;

/** One named state tensor a stream of a model holds ("rnn.h": f32 [2, 256]). */
public final class StateTensorInfo {
  private final String name;
  private final DType dtype;
  private final long[] shape;
  private final long nbytes;

  StateTensorInfo(String name, DType dtype, long[] shape, long nbytes) {
    this.name = name;
    this.dtype = dtype;
    this.shape = shape;
    this.nbytes = nbytes;
  }

  /** The tensor's name, as {@link Stream#readState(String)} takes it. */
  public String name() {
    return name;
  }

  /** The element type. */
  public DType dtype() {
    return dtype;
  }

  /** The extents, outermost first (a copy). */
  public long[] shape() {
    return shape.clone();
  }

  /** The number of elements. */
  public long elements() {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  /** The size in bytes. */
  public long nbytes() {
    return nbytes;
  }

  @Override
  public String toString() {
    return name + ": " + dtype.name().toLowerCase(java.util.Locale.ROOT) + " " + Arrays.toString(shape);
  }
}
