package org.seqcore;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.seqcore.internal.NativeModel;

/** A model's immutable facts, read once at load and shared by its streams. */
final class ModelInfo {
  final InputKind inputKind;
  final int inputWidth;
  final int outputWidth;
  final boolean outputIsLogits;
  final long stateBytes;
  final long weightBytes;
  final DType weightDType;
  final List<BlockInfo> blocks;
  final List<StateTensorInfo> state;
  final Tokenizer tokenizer;

  ModelInfo(NativeModel m) {
    inputKind = InputKind.fromCode(m.input_kind());
    inputWidth = Math.toIntExact(m.input_width());
    outputWidth = Math.toIntExact(m.output_width());
    outputIsLogits = m.output_is_logits() != 0;
    stateBytes = m.state_bytes();
    weightBytes = m.weight_bytes();
    weightDType = DType.fromCode(m.weight_dtype());
    List<BlockInfo> b = new ArrayList<>();
    for (long i = 0, n = m.block_count(); i < n; i++) {
      b.add(new BlockInfo(m.block_name(i), m.block_plugin(i)));
    }
    blocks = Collections.unmodifiableList(b);
    List<StateTensorInfo> s = new ArrayList<>();
    for (long i = 0, n = m.state_count(); i < n; i++) {
      int ndim = m.state_ndim(i);
      long[] shape = new long[ndim];
      for (int a = 0; a < ndim; a++) {
        shape[a] = m.state_dim(i, a);
      }
      s.add(new StateTensorInfo(m.state_name(i), DType.fromCode(m.state_dtype(i)), shape,
          m.state_nbytes(i)));
    }
    state = Collections.unmodifiableList(s);
    tokenizer = Tokenizer.fromCode(m.tokenizer_kind());
  }

  StateTensorInfo stateTensor(String name) {
    for (StateTensorInfo t : state) {
      if (t.name().equals(name)) {
        return t;
      }
    }
    return null;
  }
}
