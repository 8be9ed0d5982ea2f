// The reference gemm_tile: the contract of gemm.hpp written out literally, one
// std::fma per k (fmaf is correctly rounded, so this matches the FMA
// instructions of the SIMD kernels bit for bit).
#include <cmath>

#include "cpu/gemm_isa.hpp"

namespace seqc::cpu::detail {

void gemm_tile_scalar(const GemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  for (int64_t m = m0; m < m1; ++m) {
    const float* a = g.A + m * g.lda;
    float* c = g.C + m * g.ldc;
    for (int64_t p0 = n0; p0 < n1; p0 += kPanel) {
      const int64_t w = n1 - p0 < kPanel ? n1 - p0 : kPanel;
      const float* panel = g.B + (p0 / kPanel) * g.K * kPanel;
      float acc[kPanel];
      for (int64_t j = 0; j < w; ++j) {
        const int64_t n = p0 + j;
        acc[j] = g.init == Init::accumulate ? c[n]
               : g.init == Init::bias && g.bias ? g.bias[n]
               : 0.0f;
      }
      for (int64_t k = 0; k < g.K; ++k) {
        const float* row = panel + k * kPanel;
        for (int64_t j = 0; j < w; ++j) acc[j] = std::fma(a[k], row[j], acc[j]);
      }
      for (int64_t j = 0; j < w; ++j) c[p0 + j] = acc[j];
    }
  }
}

}  // namespace seqc::cpu::detail
