package org.seqcore;

import java.nio.file.Path;
import java.util.Objects;
import org.seqcore.internal.SeqcoreNative;
import org.seqcore.internal.SeqcoreNativeConstants;

/**
 * Library-wide queries: versions, CUDA availability, model conversion.
 *
 * <pre>{@code
 * System.out.println("libseqcore " + Seqcore.versionString());
 * }</pre>
 */
public final class Seqcore {
  private Seqcore() {}

  /**
   * The version of the header this binding was built against, as
   * {@code MAJOR * 10000 + MINOR * 100 + PATCH}; compare with {@link #version()}.
   */
  public static final int BINDING_VERSION = SeqcoreNativeConstants.SEQC_VERSION_NUMBER;

  /** The version string of the header this binding was built against ("0.1.0"). */
  public static final String BINDING_VERSION_STRING = SeqcoreNativeConstants.SEQC_VERSION_STRING;

  /** The ABI major this binding was built against. */
  public static final int BINDING_ABI_VERSION = SeqcoreNativeConstants.SEQC_ABI_VERSION;

  /** The version of the library actually loaded, as {@code MAJOR * 10000 + MINOR * 100 + PATCH}. */
  public static int version() {
    return (int) SeqcoreNative.version();
  }

  /** The version string of the loaded library ("0.1.0"). */
  public static String versionString() {
    return SeqcoreNative.version_string();
  }

  /** The ABI major of the loaded library (the N of libseqcore.so.N). */
  public static int abiVersion() {
    return (int) SeqcoreNative.abi_version();
  }

  /** Whether the library was built with the CUDA backend. */
  public static boolean hasCuda() {
    return SeqcoreNative.has_cuda() != 0;
  }

  /** The number of usable CUDA devices (0 without CUDA, a driver or a GPU). */
  public static int cudaDeviceCount() {
    return SeqcoreNative.cuda_device_count();
  }

  /**
   * Writes a model as a canonical native file: reads {@code src} as
   * {@link Model#load(Path)} does (a native file or a PyTorch state dict),
   * checks that it builds, and writes {@code dst} atomically.
   *
   * @throws SeqcoreException as {@link Model#load(Path)}; {@link Status#IO} when dst cannot be written
   */
  public static void convert(Path src, Path dst) {
    Objects.requireNonNull(src, "src is null");
    Objects.requireNonNull(dst, "dst is null");
    SeqcoreNative.convert(src.toString(), dst.toString());
  }
}
