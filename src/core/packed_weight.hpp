// A weight matrix packed for the exact GEMM kernels (cpu/gemm.hpp): logical
// B[K, N] = W^T for a PyTorch-layout W[N, K], in 64-column panels.
#pragma once

#include <cstdint>

#include "core/workspace.hpp"
#include "cpu/gemm.hpp"

namespace seqc {

class PackedWeight {
 public:
  PackedWeight() = default;
  // W is [N, K] row-major (out x in). perm, if given, picks W's row for each
  // packed column.
  static PackedWeight from_nk(const float* W, int64_t N, int64_t K, const int64_t* perm = nullptr) {
    PackedWeight p;
    p.K_ = K;
    p.N_ = N;
    p.buf_ = AlignedBuffer(cpu::packed_floats(K, N) * sizeof(float));
    cpu::pack_weight_nk(W, N, K, perm, p.buf_.as<float>());
    return p;
  }
  const float* data() const { return buf_.as<float>(); }
  int64_t K() const { return K_; }
  int64_t N() const { return N_; }
  size_t bytes() const { return buf_.size(); }

  // C[M, N] (=|+=) A[M, K] * B, over the given pool.
  cpu::GemmArgs args(int64_t M, const float* A, int64_t lda, float* C, int64_t ldc, cpu::Init init,
                     const float* bias = nullptr) const {
    return cpu::GemmArgs{M, K_, N_, A, lda, data(), C, ldc, init, bias};
  }

 private:
  int64_t K_ = 0, N_ = 0;
  AlignedBuffer buf_;
};

// A plain f32 vector in aligned memory (biases, norm weights).
inline AlignedBuffer copy_floats(const float* src, int64_t n) {
  AlignedBuffer b(size_t(n) * sizeof(float));
  for (int64_t i = 0; i < n; ++i) b.as<float>()[i] = src[i];
  return b;
}

}  // namespace seqc
