// The gemm_tile of each ISA (gemm_scalar.cpp, gemm_avx2.cpp, gemm_avx512.cpp),
// selected in gemm.cpp. The SIMD ones exist only in x86-64 builds.
#pragma once

#include <cstdint>

#include "cpu/gemm.hpp"

namespace seqc::cpu::detail {

void gemm_tile_scalar(const GemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
#if defined(__x86_64__)
void gemm_tile_avx2(const GemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
void gemm_tile_avx512(const GemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
#endif

}  // namespace seqc::cpu::detail
