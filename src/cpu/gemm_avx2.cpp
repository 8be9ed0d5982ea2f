// gemm_tile for AVX2 + FMA (compiled with -mavx2 -mfma). One row streams a
// whole panel through 8 ymm accumulators; several rows use 6 x 16 blocks
// (12 accumulators of the 16 ymm registers). Every element follows the chain
// of gemm.hpp: one FMA per k, in k order.
#include <immintrin.h>

#include "cpu/gemm_blocking.hpp"
#include "cpu/gemm_isa.hpp"

namespace seqc::cpu::detail {

namespace {

constexpr int64_t kPrefetchRows = 8;

// Lanes [0, rem) set.
__m256i lane_mask(int rem) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Partial vectors use vmaskmov, which is slow on some CPUs as a store, so full
// ones use plain loads and stores.
__m256 load_cols(const float* p, int rem) {
  if (rem >= 8) return _mm256_loadu_ps(p);
  if (rem > 0) return _mm256_maskload_ps(p, lane_mask(rem));
  return _mm256_setzero_ps();
}

void store_cols(float* p, __m256 v, int rem) {
  if (rem >= 8) _mm256_storeu_ps(p, v);
  else if (rem > 0) _mm256_maskstore_ps(p, lane_mask(rem), v);
}

// MR rows x 8 NV columns from the tile's first column; t.valid counts the
// columns that exist from there (it may exceed 8 NV). With Prefetch (first
// strip of a panel, first row block) the whole 256-byte panel row kPrefetchRows
// ahead is prefetched: the strips read B with a 256-byte stride, which the
// hardware prefetchers do not follow fast enough from L3 or memory. (Prefetches
// past the end of B are harmless: they never fault.)
template <int MR, int NV, bool Prefetch = false>
void kernel(const MicroTile& t) {
  __m256 acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      acc[r][v] = t.init ? load_cols(t.init + r * t.init_ld + 8 * v, t.valid - 8 * v) : _mm256_setzero_ps();

  const float* a = t.a;
  const float* b = t.b;
  for (int64_t k = 0; k < t.kn; ++k, ++a, b += kPanel) {
    if constexpr (Prefetch) {
#pragma GCC unroll 4
      for (int line = 0; line < 4; ++line)
        _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchRows * kPanel + 16 * line), _MM_HINT_T0);
    }
    __m256 bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * t.lda);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }

#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) store_cols(t.c + r * t.ldc + 8 * v, acc[r][v], t.valid - 8 * v);
}

using KernelFn = void (*)(const MicroTile&);

struct Avx2 {
  static constexpr int64_t kRows = 6;
  static constexpr int64_t kKChunk = 256;
  static int panels_per_call(int64_t) { return 1; }

  static void run(const MicroTile& t, int64_t rows) {
    if (rows == 1) {
      kernel<1, 8>(t);
      return;
    }
    static constexpr KernelFn block[7] = {nullptr, kernel<1, 2>, kernel<2, 2>, kernel<3, 2>,
                                          kernel<4, 2>, kernel<5, 2>, kernel<6, 2>};
    static constexpr KernelFn first[7] = {nullptr, kernel<1, 2, true>, kernel<2, 2, true>, kernel<3, 2, true>,
                                          kernel<4, 2, true>, kernel<5, 2, true>, kernel<6, 2, true>};
    // Strip by strip, so that a 16-column strip of the K chunk stays in L1
    // while all row blocks use it.
    for (int col = 0; col < t.valid; col += 16)
      for_row_blocks<Avx2>(rows, kRows, [&](int64_t m, int64_t mr) {
        (col == 0 && m == 0 ? first : block)[mr](shifted<Avx2>(t, m, col));
      });
  }
};

}  // namespace

void gemm_tile_avx2(const GemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  tile_blocked<Avx2>(g, m0, m1, n0, n1);
}

}  // namespace seqc::cpu::detail
