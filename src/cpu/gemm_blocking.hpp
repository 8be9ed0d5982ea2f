// The loop nest shared by the SIMD gemm_tile implementations (gemm_avx2.cpp,
// gemm_avx512.cpp): panel groups, then chunks of K, then the ISA's own row and
// column blocking. Included only by ISA files: everything here is a template
// over the ISA's kernel type (defined in an anonymous namespace there), so no
// inline function compiled with AVX-512 flags can be merged by the linker
// into a caller that runs on a lesser CPU.
#pragma once

#include <cstdint>

#include "cpu/gemm.hpp"

namespace seqc::cpu::detail {

// One call of a micro-kernel: np panels of B from row k0, kn steps of k, for
// rows of A and C starting at m. Pointers are already offset.
struct MicroTile {
  const float* a;  // A[m, k0]
  int64_t lda;
  const float* b;  // row k0 of the first panel
  int64_t panel_stride;  // floats from one panel to the next (K * 64)
  int64_t kn;
  float* c;  // C[m, 64 p]
  int64_t ldc;
  const float* init;  // where the chain starts: C, bias (init_ld 0) or null for +0
  int64_t init_ld;
  int np;     // panels
  int valid;  // columns of the last panel that exist in C (1..64)
};

// Moves a tile down by r rows and right by `col` columns inside its panel.
// (Kern only gives each ISA its own copy, see above.)
template <class Kern>
MicroTile shifted(const MicroTile& t, int64_t r, int col) {
  MicroTile u = t;
  u.a += r * t.lda;
  u.b += col;
  u.c += r * t.ldc + col;
  if (u.init) u.init += r * t.init_ld + col;
  u.valid -= col;
  return u;
}

// Calls f(first_row, row_count) for rows [0, rows) cut into as few blocks of
// at most max_rows as possible, of sizes differing by at most one: 8 rows
// become 4 + 4, not 6 + 2, because a block of few rows has too few independent
// FMA chains to hide the FMA latency.
template <class Kern, class F>
void for_row_blocks(int64_t rows, int64_t max_rows, F f) {
  const int64_t blocks = (rows + max_rows - 1) / max_rows;
  const int64_t base = rows / blocks, extra = rows % blocks;
  int64_t m = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t mr = base + (b < extra ? 1 : 0);
    f(m, mr);
    m += mr;
  }
}

// Kern provides:
//   kRows: rows of its largest micro-kernel;
//   kKChunk: K chunk length when the rows need several kernel calls;
//   panels_per_call(rows): panels one kernel call covers;
//   run(tile, rows): all `rows` rows of the tile, in its own blocking.
template <class Kern>
void tile_blocked(const GemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  if (m0 >= m1 || n0 >= n1) return;
  const int64_t rows = m1 - m0;
  const int64_t p_end = (n1 + kPanel - 1) / kPanel;
  const int64_t stride = g.K * kPanel;
  const int np_max = Kern::panels_per_call(rows);
  // With several row blocks K is cut into chunks so that a chunk of B stays
  // in cache while every row block uses it. The chain of each C element simply
  // continues through C: storing and reloading a float is exact.
  const int64_t kc = rows <= Kern::kRows ? g.K : Kern::kKChunk;
  for (int64_t p = n0 / kPanel; p < p_end;) {
    const int np = p_end - p < np_max ? static_cast<int>(p_end - p) : np_max;
    const int valid = static_cast<int>(p + np == p_end ? n1 - (p_end - 1) * kPanel : kPanel);
    int64_t k0 = 0;
    do {
      const int64_t kn = g.K - k0 < kc ? g.K - k0 : kc;
      MicroTile t;
      t.a = g.A + m0 * g.lda + k0;
      t.lda = g.lda;
      t.b = g.B + p * stride + k0 * kPanel;
      t.panel_stride = stride;
      t.kn = kn;
      t.c = g.C + m0 * g.ldc + p * kPanel;
      t.ldc = g.ldc;
      if (k0 > 0 || g.init == Init::accumulate) {
        t.init = t.c;
        t.init_ld = g.ldc;
      } else if (g.init == Init::bias && g.bias) {
        t.init = g.bias + p * kPanel;
        t.init_ld = 0;
      } else {
        t.init = nullptr;
        t.init_ld = 0;
      }
      t.np = np;
      t.valid = valid;
      Kern::run(t, rows);
      k0 += kn;
    } while (k0 < g.K);
    p += np;
  }
}

}  // namespace seqc::cpu::detail
