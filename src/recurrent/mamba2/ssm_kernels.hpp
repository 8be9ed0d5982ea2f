// Kernels of the Mamba-2 state-space recurrence (recurrent/mamba2): the exact
// per-head step and the panel packing the chunked (SSD)
// prefill feeds to the exact GEMM.
#pragma once

#include <cstdint>

namespace seqc::mamba2 {

// One position of one head, in place on the head's state S [P, N]:
//   for p in [0, P):
//     dtx  = dt * x[p]
//     S[p, n] = fma(dtx, Bv[n], dA * S[p, n])            for every n
//     y[p] = sum_n S[p, n] * Cv[n]  +  Dh * x[p]
// The sum is the canonical 16-lane reduction of cpu/vmath.hpp (vdot's order:
// element n into lane n % 16 with one fma each, then the fixed pairwise tree),
// and D * x is added last. The scalar, AVX2 and AVX-512 versions give the same
// bits; which one runs follows cpu::active_isa(). No allocation.
void ssm_step_head(float* S, int64_t P, int64_t N, const float* x, const float* Bv, const float* Cv, float dt,
                   float dA, float Dh, float* y);


// Packs B[K, N] for cpu::gemm (64-column panels, see cpu/gemm.hpp) from a
// strided source: B(k, n) = src[k * ld + n] * (scale ? scale[k] : 1).
void pack_kn_strided(const float* src, int64_t ld, int64_t K, int64_t N, const float* scale, float* dst);

// Packs B[K, N] = S^T for S given row-major [N, K] with row stride ld:
// B(k, n) = src[n * ld + k].
void pack_nk_strided(const float* src, int64_t ld, int64_t N, int64_t K, float* dst);

}  // namespace seqc::mamba2
