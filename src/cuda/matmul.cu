// cuda::Matrix: weight matrices in f32, bf16 or f16 on the device, and the
// products every CUDA block uses (see cuda_common.cuh).
//
// The GEMV kernel (M <= kGemvRows rows): one warp per output column n of y
// (a row of W). The warp's lanes stride over K in 16-byte vectors of W (4
// f32 or 8 halves) with the matching f32 x values, keep one f32 partial sum
// per row of x, and reduce them by butterfly shuffles; lane 0 writes y (plus
// bias, plus y when accumulating). A batch-1 step is bound by the bytes of W
// it reads, so each weight is read exactly once, with loads wide enough to
// keep the memory system busy (8 warps a block, unrolled vector loads).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstring>
#include <vector>

#include "core/status.hpp"
#include "cuda/cuda_common.cuh"

namespace seqc::cuda {

namespace {

constexpr int kGemvWarps = 8;  // output columns per block

struct GemvArgs {
  int64_t M, N, K;  // K: the columns used (kn)
  const void* W;    // first used column of row 0
  int64_t ldw;      // elements
  const float* x;
  int64_t ldx;
  float* y;
  int64_t ldy;
  const float* bias;
  bool accumulate;
};

// VEC: whether every row of W and x is 16-byte aligned with K a multiple of
// the vector width (else one element per lane step).
template <typename WT, int MR, bool VEC>
__global__ void __launch_bounds__(kGemvWarps * 32) gemv_kernel(GemvArgs a) {
  pdl_wait();  // see launch_pdl
  const int lane = threadIdx.x % 32;
  const int64_t n = int64_t(blockIdx.x) * kGemvWarps + threadIdx.x / 32;
  if (n >= a.N) return;
  const WT* w = static_cast<const WT*>(a.W) + n * a.ldw;
  const int M = int(a.M);
  float acc[MR];
#pragma unroll
  for (int m = 0; m < MR; ++m) acc[m] = 0.0f;
  if constexpr (VEC) {
    constexpr int V = Vec16<WT>::n;
#pragma unroll 4
    for (int64_t k = int64_t(lane) * V; k < a.K; k += 32 * V) {
      float wv[V];
      Vec16<WT>::load(w + k, wv);
#pragma unroll
      for (int m = 0; m < MR; ++m) {
        if (m < M) {
          const float* xr = a.x + m * a.ldx + k;
#pragma unroll
          for (int j = 0; j < V; j += 4) {
            const float4 xv = __ldg(reinterpret_cast<const float4*>(xr + j));
            acc[m] = fmaf(wv[j], xv.x, acc[m]);
            acc[m] = fmaf(wv[j + 1], xv.y, acc[m]);
            acc[m] = fmaf(wv[j + 2], xv.z, acc[m]);
            acc[m] = fmaf(wv[j + 3], xv.w, acc[m]);
          }
        }
      }
    }
  } else {
    for (int64_t k = lane; k < a.K; k += 32) {
      const float wv = to_float(w[k]);
#pragma unroll
      for (int m = 0; m < MR; ++m)
        if (m < M) acc[m] = fmaf(wv, __ldg(a.x + m * a.ldx + k), acc[m]);
    }
  }
#pragma unroll
  for (int m = 0; m < MR; ++m)
#pragma unroll
    for (int s = 16; s >= 1; s /= 2) acc[m] += __shfl_xor_sync(0xffffffffu, acc[m], s);
  if (lane == 0) {
    const float b = a.bias ? a.bias[n] : 0.0f;
#pragma unroll
    for (int m = 0; m < MR; ++m) {
      if (m < M) {
        float* yp = a.y + m * a.ldy + n;
        const float v = acc[m] + b;
        *yp = a.accumulate ? *yp + v : v;
      }
    }
  }
}

template <typename WT, int MR>
void launch_gemv_rows(const Ctx& c, const GemvArgs& a, bool vec) {
  const unsigned grid = grid_for(a.N, kGemvWarps);
  if (vec)
    launch_pdl(c, gemv_kernel<WT, MR, true>, grid, kGemvWarps * 32, 0, "gemv", a);
  else
    launch_pdl(c, gemv_kernel<WT, MR, false>, grid, kGemvWarps * 32, 0, "gemv", a);
  check_launch("gemv");
}

template <typename WT>
void launch_gemv(const Ctx& c, const GemvArgs& a) {
  constexpr int V = Vec16<WT>::n;
  const bool vec = a.K % V == 0 && a.ldw % V == 0 && a.ldx % 4 == 0 && aligned16(a.W) && aligned16(a.x);
  if (a.M <= 1)
    launch_gemv_rows<WT, 1>(c, a, vec);
  else if (a.M <= 2)
    launch_gemv_rows<WT, 2>(c, a, vec);
  else if (a.M <= 4)
    launch_gemv_rows<WT, 4>(c, a, vec);
  else
    launch_gemv_rows<WT, 8>(c, a, vec);
}

// dst[m, k] = (half) x[m * ldx + k] for k < K: the GEMM input in W's dtype.
// grid (ceil(K / (V * 256)), rows), V elements per thread: V = 4 when rows
// start 16-byte aligned (ldx and K multiples of 4), else 1.
__device__ __forceinline__ void store_half(__nv_bfloat16* d, float v) { *d = __float2bfloat16_rn(v); }
__device__ __forceinline__ void store_half(__half* d, float v) { *d = __float2half_rn(v); }
__device__ __forceinline__ void store_half4(__nv_bfloat16* d, float4 v) {
  reinterpret_cast<__nv_bfloat162*>(d)[0] = __floats2bfloat162_rn(v.x, v.y);
  reinterpret_cast<__nv_bfloat162*>(d)[1] = __floats2bfloat162_rn(v.z, v.w);
}
__device__ __forceinline__ void store_half4(__half* d, float4 v) {
  reinterpret_cast<__half2*>(d)[0] = __floats2half2_rn(v.x, v.y);
  reinterpret_cast<__half2*>(d)[1] = __floats2half2_rn(v.z, v.w);
}

template <typename HT, int V>
__global__ void to_half_kernel(const float* __restrict__ x, int64_t ldx, HT* __restrict__ dst, int64_t M, int64_t K) {
  pdl_wait();  // see launch_pdl
  const int64_t k = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * V;
  if (k >= K) return;
  for (int64_t m = blockIdx.y; m < M; m += gridDim.y) {
    if constexpr (V == 4)
      store_half4(dst + m * K + k, *reinterpret_cast<const float4*>(x + m * ldx + k));
    else
      store_half(dst + m * K + k, x[m * ldx + k]);
  }
}

template <typename HT>
void to_half(const Ctx& c, const float* x, int64_t ldx, HT* dst, int64_t M, int64_t K) {
  const bool vec = ldx % 4 == 0 && K % 4 == 0 && aligned16(x) && reinterpret_cast<uintptr_t>(dst) % 8 == 0;
  const dim3 grid(grid_for(vec ? K / 4 : K, 256), unsigned(std::min<int64_t>(M, 65535)));
  if (vec)
    launch_pdl(c, to_half_kernel<HT, 4>, grid, 256, 0, "rounding GEMM input", x, ldx, dst, M, K);
  else
    launch_pdl(c, to_half_kernel<HT, 1>, grid, 256, 0, "rounding GEMM input", x, ldx, dst, M, K);
}

}  // namespace

Matrix Matrix::upload(const float* host, int64_t N, int64_t K, DType dt) {
  SEQC_CHECK(dt == DType::f32 || dt == DType::bf16 || dt == DType::f16);
  SEQC_CHECK(N >= 0 && K >= 0);
  Matrix m;
  m.N_ = N;
  m.K_ = K;
  m.dt_ = dt;
  const size_t n = size_t(N * K);
  if (n == 0) return m;
  std::vector<uint16_t> half;
  const void* src = host;
  if (dt != DType::f32) {
    half.resize(n);
    for (size_t i = 0; i < n; ++i) half[i] = dt == DType::bf16 ? f32_to_bf16(host[i]) : f32_to_f16(host[i]);
    src = half.data();
  }
  check(cudaMalloc(&m.p_, m.bytes()), "cudaMalloc (weights)");
  check(cudaMemcpy(m.p_, src, m.bytes(), cudaMemcpyHostToDevice), "uploading weights");
  return m;
}

Matrix& Matrix::operator=(Matrix&& o) noexcept {
  if (this != &o) {
    if (p_) cudaFree(p_);
    p_ = o.p_;
    N_ = o.N_;
    K_ = o.K_;
    dt_ = o.dt_;
    o.p_ = nullptr;
    o.N_ = o.K_ = 0;
  }
  return *this;
}

Matrix::~Matrix() {
  if (p_) cudaFree(p_);
}

size_t Matrix::scratch_bytes(int64_t M) const {
  if (dt_ == DType::f32 || M <= kGemvRows) return 0;
  return align_up(size_t(M * K_) * 2) + kAlign;
}

void Matrix::apply(RunCtx& rc, int64_t M, const float* x, int64_t ldx, float* y, int64_t ldy,
                   const MatArgs& a) const {
  const Ctx& c = ctx_of(rc);
  const int64_t kn = a.kn < 0 ? K_ - a.k0 : a.kn;
  SEQC_CHECK(a.k0 >= 0 && kn >= 0 && a.k0 + kn <= K_);
  if (M <= 0 || N_ <= 0) return;
  const size_t es = dtype_size(dt_);
  const void* w0 = static_cast<const std::byte*>(p_) + size_t(a.k0) * es;
  if (M <= kGemvRows || kn == 0) {
    for (int64_t m0 = 0; m0 < M; m0 += kGemvRows) {
      const GemvArgs g{std::min<int64_t>(kGemvRows, M - m0), N_, kn, w0, K_, x + m0 * ldx, ldx, y + m0 * ldy, ldy,
                       a.bias, a.accumulate};
      if (dt_ == DType::f32)
        launch_gemv<float>(c, g);
      else if (dt_ == DType::bf16)
        launch_gemv<__nv_bfloat16>(c, g);
      else
        launch_gemv<__half>(c, g);
    }
    return;
  }
  if (dt_ == DType::f32) {
    gemm_nt(c, M, N_, kn, x, ldx, static_cast<const float*>(w0), K_, y, ldy, a.accumulate ? 1.0f : 0.0f);
    if (a.bias) add_bias(c, y, ldy, a.bias, M, N_);
  } else {
    const size_t mark = rc.ws.mark();
    void* xh = rc.ws.alloc<std::byte>(size_t(M * kn) * 2);
    if (dt_ == DType::bf16)
      to_half(c, x, ldx, static_cast<__nv_bfloat16*>(xh), M, kn);
    else
      to_half(c, x, ldx, static_cast<__half*>(xh), M, kn);
    apply_rounded(rc, M, xh, kn, y, ldy, a);
    rc.ws.release(mark);
  }
}

void Matrix::apply_rounded(RunCtx& rc, int64_t M, const void* xh, int64_t ldxh, float* y, int64_t ldy,
                           const MatArgs& a) const {
  const Ctx& c = ctx_of(rc);
  const int64_t kn = a.kn < 0 ? K_ - a.k0 : a.kn;
  SEQC_CHECK(a.k0 >= 0 && kn >= 0 && a.k0 + kn <= K_);
  SEQC_CHECK(rounds_input(M) && kn > 0 && ldxh >= kn);
  if (N_ <= 0) return;
  const void* w0 = static_cast<const std::byte*>(p_) + size_t(a.k0) * dtype_size(dt_);
  gemm_nt_half(c, dt_, M, N_, kn, xh, ldxh, w0, K_, y, ldy, a.accumulate ? 1.0f : 0.0f);
  if (a.bias) add_bias(c, y, ldy, a.bias, M, N_);
}

}  // namespace seqc::cuda
