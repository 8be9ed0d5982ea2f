// gemm_tile for AVX-512 (compiled with -mavx512f -mavx512bw -mavx512vl
// -mavx512dq -mfma). A micro-kernel keeps MR rows x NP whole panels of C in
// zmm registers for its whole K range: one 512-bit FMA per 16 elements per k,
// in k order, so every element follows the chain of gemm.hpp.

// GCC 12 warns about _mm512_undefined_ps() inside its own intrinsics when
// they are inlined (GCC bug 105593); the warning points into the header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "cpu/gemm_blocking.hpp"
#include "cpu/gemm_isa.hpp"

namespace seqc::cpu::detail {

namespace {

// Mask of the columns [16 q, 16 q + 16) of a panel that are below `valid`.
__mmask16 column_mask(int valid, int q) {
  const int rem = valid - 16 * q;
  return rem >= 16 ? __mmask16(0xffff) : rem > 0 ? __mmask16((1u << rem) - 1) : __mmask16(0);
}

// MR x (NP * 64) outputs in MR * NP * 4 accumulators (at most 24 of the 32 zmm
// registers, leaving room for the B row). Only the last panel may be partial;
// masked loads and stores never touch columns >= valid.
template <int MR, int NP>
void kernel(const MicroTile& t) {
  constexpr int Q = NP * 4;
  __mmask16 mask[Q];
#pragma GCC unroll 8
  for (int q = 0; q < Q; ++q) mask[q] = q / 4 == NP - 1 ? column_mask(t.valid, q % 4) : __mmask16(0xffff);

  __m512 acc[MR][Q];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < Q; ++q)
      acc[r][q] = t.init ? _mm512_maskz_loadu_ps(mask[q], t.init + r * t.init_ld + 16 * q) : _mm512_setzero_ps();

  const float* a = t.a;
  const float* b = t.b;
  for (int64_t k = 0; k < t.kn; ++k, ++a, b += kPanel) {
    __m512 bv[Q];
#pragma GCC unroll 8
    for (int q = 0; q < Q; ++q) bv[q] = _mm512_loadu_ps(b + (q / 4) * t.panel_stride + 16 * (q % 4));
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * t.lda]);
#pragma GCC unroll 8
      for (int q = 0; q < Q; ++q) acc[r][q] = _mm512_fmadd_ps(av, bv[q], acc[r][q]);
    }
  }

#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < Q; ++q) _mm512_mask_storeu_ps(t.c + r * t.ldc + 16 * q, mask[q], acc[r][q]);
}

using KernelFn = void (*)(const MicroTile&);

struct Avx512 {
  static constexpr int64_t kRows = 6;
  static constexpr int64_t kKChunk = 256;
  // Up to 3 rows, two panels per call give 8-24 independent FMA chains (a
  // single panel of one row has only 4, too few to hide the FMA latency).
  static int panels_per_call(int64_t rows) { return rows <= 3 ? 2 : 1; }

  static void run(const MicroTile& t, int64_t rows) {
    static constexpr KernelFn one[7] = {nullptr, kernel<1, 1>, kernel<2, 1>, kernel<3, 1>,
                                        kernel<4, 1>, kernel<5, 1>, kernel<6, 1>};
    static constexpr KernelFn two[4] = {nullptr, kernel<1, 2>, kernel<2, 2>, kernel<3, 2>};
    for_row_blocks<Avx512>(rows, kRows, [&](int64_t m, int64_t mr) {
      (t.np == 2 ? two : one)[mr](shifted<Avx512>(t, m, 0));
    });
  }
};

}  // namespace

void gemm_tile_avx512(const GemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  tile_blocked<Avx512>(g, m0, m1, n0, n1);
}

}  // namespace seqc::cpu::detail
