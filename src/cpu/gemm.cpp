// Packing, ISA dispatch and the threaded split of gemm.hpp.
#include "cpu/gemm.hpp"

#include <algorithm>
#include <cstring>

#include "cpu/gemm_isa.hpp"
#include "cpu/thread_pool.hpp"

namespace seqc::cpu {

size_t packed_floats(int64_t K, int64_t N) {
  const int64_t panels = (N + kPanel - 1) / kPanel;
  return static_cast<size_t>(panels * kPanel * K);
}

void pack_weight_nk(const float* W, int64_t N, int64_t K, const int64_t* perm, float* dst) {
  const int64_t panels = (N + kPanel - 1) / kPanel;
  for (int64_t p = 0; p < panels; ++p) {
    float* panel = dst + p * K * kPanel;
    // Row by row of W: reads stay sequential, writes go down one column of a
    // panel that fits in L2 for any realistic K.
    for (int64_t j = 0; j < kPanel; ++j) {
      const int64_t n = p * kPanel + j;
      if (n < N) {
        const float* w = W + (perm ? perm[n] : n) * K;
        for (int64_t k = 0; k < K; ++k) panel[k * kPanel + j] = w[k];
      } else {
        for (int64_t k = 0; k < K; ++k) panel[k * kPanel + j] = 0.0f;
      }
    }
  }
}

void pack_weight_kn(const float* B, int64_t K, int64_t N, float* dst) {
  const int64_t panels = (N + kPanel - 1) / kPanel;
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t n0 = p * kPanel, w = std::min(kPanel, N - n0);
    float* panel = dst + p * K * kPanel;
    for (int64_t k = 0; k < K; ++k) {
      std::memcpy(panel + k * kPanel, B + k * N + n0, static_cast<size_t>(w) * sizeof(float));
      std::fill(panel + k * kPanel + w, panel + (k + 1) * kPanel, 0.0f);
    }
  }
}

namespace detail {

const GemmKernels& kernels(Isa isa) {
  static constexpr GemmKernels scalar{Isa::scalar, gemm_tile_scalar};
#if defined(__x86_64__)
  static constexpr GemmKernels avx2{Isa::avx2, gemm_tile_avx2};
  static constexpr GemmKernels avx512{Isa::avx512, gemm_tile_avx512};
  const Isa best = detected_isa();
  if (static_cast<int>(isa) > static_cast<int>(best)) isa = best;
  if (isa == Isa::avx512) return avx512;
  if (isa == Isa::avx2) return avx2;
#else
  (void)isa;
#endif
  return scalar;
}

}  // namespace detail

void gemm_tile(const GemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  static const detail::GemmTileFn tile = detail::kernels(active_isa()).tile;
  tile(g, m0, m1, n0, n1);
}

namespace {

// Below this many multiply-adds per task, waking another thread costs more
// than it saves (a task of 64K FMAs is a few microseconds).
constexpr int64_t kMinTaskFmas = 64 * 1024;
// Rows per task for tall products: a multiple of the 6-row micro-kernels,
// small enough for A's rows to stay in L2 while the task sweeps its panels.
constexpr int64_t kTaskRows = 96;

}  // namespace

void gemm(ThreadPool* pool, const GemmArgs& g) {
  if (g.M <= 0 || g.N <= 0) return;
  const int threads = pool ? pool->size() : 1;
  const int64_t panels = (g.N + kPanel - 1) / kPanel;
  const int64_t k_eff = std::max<int64_t>(g.K, 1);
  const int64_t rows = g.M <= kTaskRows ? g.M : kTaskRows;
  const int64_t row_blocks = (g.M + rows - 1) / rows;
  // Enough tasks for the dynamic hand-out to even out the threads (4 each),
  // none below kMinTaskFmas; consecutive tasks share a panel group.
  const int64_t want_groups = std::max<int64_t>(1, (4 * threads + row_blocks - 1) / row_blocks);
  int64_t group = std::max<int64_t>(1, panels / want_groups);
  group = std::max(group, (kMinTaskFmas + rows * kPanel * k_eff - 1) / (rows * kPanel * k_eff));
  if (group > 1) group += group & 1;  // pairs of panels suit the 2-panel kernels
  group = std::min(group, panels);
  const int64_t groups = (panels + group - 1) / group;
  auto task = [&](int64_t t, int) {
    const int64_t gi = t / row_blocks, ri = t % row_blocks;
    const int64_t m0 = ri * rows, n0 = gi * group * kPanel;
    gemm_tile(g, m0, std::min(g.M, m0 + rows), n0, std::min(g.N, n0 + group * kPanel));
  };
  // One thread walks the same tasks in order: the row blocks keep A in L2.
  const int64_t tasks = row_blocks * groups;
  if (threads == 1) {
    for (int64_t t = 0; t < tasks; ++t) task(t, 0);
  } else {
    pool->parallel_for(tasks, task);
  }
}

}  // namespace seqc::cpu
