package org.seqcore;

import org.seqcore.internal.NativeRuntime;
import org.seqcore.internal.SeqcoreNative;

/**
 * A device with its kernel thread pool: the place a model's weights live and
 * its computations run. Models retain their runtime, so a runtime may be
 * closed as soon as its models are loaded.
 *
 * <p>Most programs need none: {@link Model#load(java.nio.file.Path)} uses the
 * library's process-wide CPU runtime with one thread per core. Create one to
 * choose the thread count:
 *
 * <pre>{@code
 * try (SeqcoreRuntime rt = SeqcoreRuntime.cpu(2);
 *      Model model = Model.load(rt, Paths.get("model.safetensors"))) {
 *   ...
 * }
 * }</pre>
 *
 * <p>Thread safety: a runtime may be used from any number of threads.
 */
public final class SeqcoreRuntime extends Handle {
  final NativeRuntime nat;

  private SeqcoreRuntime(NativeRuntime nat) {
    super("Runtime", nat::delete);
    this.nat = nat;
  }

  /**
   * A CPU runtime.
   *
   * @param threads kernel threads, the caller included; 0 or negative: one per core
   * @throws SeqcoreException {@link Status#OUT_OF_MEMORY}
   */
  public static SeqcoreRuntime cpu(int threads) {
    return new SeqcoreRuntime(new NativeRuntime(threads));
  }

  /**
   * A runtime on a device.
   *
   * @param device      the kind of device
   * @param deviceIndex which device of that kind (0 for the CPU)
   * @param threads     CPU kernel threads, as for {@link #cpu(int)}
   * @throws SeqcoreException {@link Status#NO_DEVICE} (no such device or driver),
   *     {@link Status#UNSUPPORTED} (built without that backend, or not in this release)
   */
  public static SeqcoreRuntime create(Device device, int deviceIndex, int threads) {
    java.util.Objects.requireNonNull(device, "device is null");
    return new SeqcoreRuntime(SeqcoreNative.runtime_create(device.code(), deviceIndex, threads));
  }

  /** The number of kernel threads, the caller included. */
  public int threads() {
    enter();
    try {
      return nat.threads();
    } finally {
      exit();
    }
  }

  /** The device this runtime runs on. */
  public Device device() {
    enter();
    try {
      return Device.fromCode(nat.device());
    } finally {
      exit();
    }
  }

  @Override
  public String toString() {
    return isClosed() ? "SeqcoreRuntime[closed]"
        : "SeqcoreRuntime[" + device() + ", " + threads() + " threads]";
  }
}
