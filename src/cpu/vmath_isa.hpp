// The vmath function table of each ISA (vmath_scalar.cpp, vmath_avx2.cpp,
// vmath_avx512.cpp), selected in vmath.cpp. The SIMD ones exist only in
// x86-64 builds.
#pragma once

#include "cpu/vmath.hpp"

namespace seqc::cpu::detail {

const VmathKernels& vmath_kernels_scalar();
#if defined(__x86_64__)
const VmathKernels& vmath_kernels_avx2();
const VmathKernels& vmath_kernels_avx512();
#endif

}  // namespace seqc::cpu::detail
