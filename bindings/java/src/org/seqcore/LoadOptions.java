package org.seqcore;

import java.util.Objects;

/**
 * How a model is loaded ({@code seqc_load_options}): an immutable value,
 * passed to {@link Model#load(SeqcoreRuntime, java.nio.file.Path, LoadOptions)}
 * and the other loading methods that take one.
 *
 * <pre>{@code
 * try (SeqcoreRuntime gpu = SeqcoreRuntime.create(Device.CUDA, 0, 0);
 *      Model model = Model.load(gpu, Paths.get("model.safetensors"),
 *          LoadOptions.defaults().withWeightDType(DType.BF16))) {
 *   ...
 * }
 * }</pre>
 *
 * @since 0.3
 */
public final class LoadOptions {
  private static final LoadOptions DEFAULTS = new LoadOptions(DType.F32);

  private final DType weightDType;

  private LoadOptions(DType weightDType) {
    this.weightDType = weightDType;
  }

  /** The defaults: weights held as {@link DType#F32}. */
  public static LoadOptions defaults() {
    return DEFAULTS;
  }

  /**
   * These options with the precision the weight matrices are held in:
   * {@link DType#F32} (the default), {@link DType#BF16} or {@link DType#F16},
   * whatever the file stores. On a CUDA runtime the matrices are stored in
   * that dtype and multiplied with f32 accumulation; on the CPU they are
   * rounded to it and computed in f32. Biases, norms and the state stay f32.
   * Another dtype makes the load fail with {@link Status#DTYPE}.
   */
  public LoadOptions withWeightDType(DType dtype) {
    return new LoadOptions(Objects.requireNonNull(dtype, "dtype is null"));
  }

  /** The precision the weight matrices are to be held in. */
  public DType weightDType() {
    return weightDType;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LoadOptions && ((LoadOptions) o).weightDType == weightDType;
  }

  @Override
  public int hashCode() {
    return weightDType.hashCode();
  }

  @Override
  public String toString() {
    return "LoadOptions[weightDType=" + weightDType + "]";
  }
}
