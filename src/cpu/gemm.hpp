// Exact, batch-invariant single-precision GEMM: C[M, N] (=|+=) A[M, K] * B[K, N]
// with B packed in 64-column panels.
//
// The contract, per output element (m, n), on every ISA, tiling and thread
// split:
//   acc = init == zero ? +0.0f : init == bias ? bias[n] : C[m, n];
//   for k = 0 .. K-1: acc = fmaf(A[m * lda + k], B(k, n), acc);
//   C[m, n] = acc;
// one fused multiply-add per k, in increasing k, with no splitting of K and no
// reassociation. A row of C therefore does not depend on the other rows, on M,
// or on how the work was cut, which is what makes a stream's result the same
// alone, batched with others, or step by step. (NaN results are NaN
// everywhere, but when several NaN inputs meet, which payload survives is not
// specified.) Results assume the default floating-point environment (round to
// nearest, no flush-to-zero).
//
// Nothing here allocates; gemm_tile and gemm keep no scratch memory.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/cpu_features.hpp"

namespace seqc {
class ThreadPool;
}

namespace seqc::cpu {

// Columns per panel of a packed B.
constexpr int64_t kPanel = 64;

// Floats a packed B[K, N] takes: ceil(N / 64) panels of K x 64.
size_t packed_floats(int64_t K, int64_t N);

// Packs W[N, K] (row-major, PyTorch nn.Linear's out x in) as B = W^T. Packed
// column n takes W's row perm[n] when perm is not null (a column permutation,
// e.g. to interleave LSTM gates); perm must hold N indices in [0, N). Panel p
// is a K x 64 row-major block holding columns [64p, 64p + 64); columns >= N
// are zero. dst holds packed_floats(K, N) floats and must not overlap W; it
// should be 64-byte aligned for speed.
void pack_weight_nk(const float* W, int64_t N, int64_t K, const int64_t* perm, float* dst);

// Packs B[K, N] given row-major.
void pack_weight_kn(const float* B, int64_t K, int64_t N, float* dst);

enum class Init { zero, bias, accumulate };

struct GemmArgs {
  int64_t M, K, N;
  const float* A;  // A[m * lda + k]
  int64_t lda;
  const float* B;  // packed by pack_weight_nk / pack_weight_kn with the same K, N
  float* C;        // C[m * ldc + n]; must not overlap A or B
  int64_t ldc;
  Init init;
  const float* bias;  // N floats, read with Init::bias (null there means zero)
};

// Computes C[m, n] for m in [m0, m1) and n in [n0, n1) by the contract above.
// n0 must be a multiple of 64, n1 <= N; no other element of C is read or
// written. Runs on the calling thread with the active ISA.
void gemm_tile(const GemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1);

// All of C, split into tasks (row blocks x panel groups) over the pool (null:
// the calling thread alone). Bitwise identical to one gemm_tile over
// everything.
void gemm(ThreadPool* pool, const GemmArgs& g);

namespace detail {

using GemmTileFn = void (*)(const GemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1);

struct GemmKernels {
  Isa isa;
  GemmTileFn tile;
};

// The kernels of one ISA, for tests and benchmarks; an ISA above
// detected_isa() gives the best one detected.
const GemmKernels& kernels(Isa isa);

}  // namespace detail

}  // namespace seqc::cpu
