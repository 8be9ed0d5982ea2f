// softplus(x) = log(1 + e^x), with PyTorch's threshold (x > 20 gives x), for
// the dt of the Mamba mixers. One implementation, our own (no libm), with
// the same bits on every ISA and machine; within about one float ulp of the
// true value (the error of cpu::vexp carried through). NaN stays NaN.
#pragma once

#include <cstdint>

namespace seqc::cpu {

// x[i] = softplus(x[i]) for i < n, in place.
void vsoftplus(float* x, int64_t n);

}  // namespace seqc::cpu
