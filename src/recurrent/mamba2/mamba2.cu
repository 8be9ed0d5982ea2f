// recurrent/mamba2 on CUDA: the Mamba-2 mixer of mamba2.cpp (same config,
// weights and state tensors: `conv [K-1, Di + 2GN]`, `ssm [H, P, N]`). One
// call over B streams of T positions:
//
//   proj = in_proj(u) (+ bias)                     GEMM, all rows     [rows, z | xBC | dt]
//   xbc  = silu(conv(xBC))                         device causal conv + conv state
//   scan over t per (stream, head, row p of the head):
//     dt = clamp(softplus(dt_raw + dt_bias), dt_min, dt_max), dA = exp(dt A)
//     S[p, n] = fma(dt x[p], B[n], dA S[p, n]);  y[p] = sum_n S[p, n] C[n] + D x[p]
//   ys = rmsnorm_groups(y * silu(z)) * norm.weight
//   out = out_proj(ys) (+ bias)                    GEMM
//
// Both prefill modes of the CPU plugin ("scan" and "ssd") run the exact
// recurrence here: a forward over T positions equals T steps (exactly, on
// the GPU). The scan kernel performs ssm_step_head's operations in its
// order: 16 lanes per row p, lane l owning the states n = l, l + 16, ... (the
// CPU's 16 accumulator lanes, fma chains in increasing n), then the same
// pairwise tree (8, 4, 2, 1), then + D x. Its results differ from the CPU's
// only through exp/softplus (libdevice instead of cpu::vexp); the GEMMs are
// cuBLAS's and the gated norm's sum of squares is a parallel reduction, so
// the block as a whole agrees with the CPU to rounding.
//
// Launches per call: in_proj GEMM (+ bias), conv (1, or 2 for long calls),
// scan, gated norm, out_proj GEMM (+ bias).
#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <memory>
#include <vector>

#include <cuda_pipeline_primitives.h>

#include "core/plugin.hpp"
#include "core/workspace.hpp"
#include "cpu/vmath.hpp"
#include "cuda/cuda_common.cuh"
#include "layers/short_conv/causal_conv.cuh"
#include "layers/short_conv/causal_conv.hpp"
#include "recurrent/mamba2/mamba2_dims.hpp"

namespace seqc {

namespace {

constexpr double kNoUpperLimit = double(FLT_MAX);  // as mamba2.cpp: dt_max at or above it is no clamp

constexpr int kLanes = 16;                   // lanes per state row (the CPU's accumulator lanes)
constexpr int kRowsPerBlock = 8;             // rows p per scan block
constexpr int kScanThreads = kLanes * kRowsPerBlock;  // 128
constexpr int64_t kBufferFloats = 3072;      // target floats per staging buffer (two per block)
constexpr int64_t kMaxChunk = 32;            // positions per staged chunk
constexpr int kMaxNpl = 16;                  // states per lane held in registers (N <= 256)

using mamba2::Dims;  // mamba2_dims.hpp
using mamba2::dims;

// ------------------------------------------------------------------ the scan

struct ScanArgs {
  int64_t B, T, Di, N, H, P, G, hpg, Cd, NP, tc;  // tc: positions per staged chunk
  int64_t row_blocks;                             // ceil(P / kRowsPerBlock)
  const float* proj;    // [rows, NP]: dt_raw of head h at column Di + Cd + h
  const float* xbc;     // [rows, Cd]: x [Di] | B [G, N] | C [G, N]
  const float* dt_bias; // [H]
  const float* A;       // [H] -exp(A_log)
  const float* Dv;      // [H]
  float dt_min, dt_max;
  bool has_dt_max;
  bool vec4;            // B and C rows 16-byte aligned (N, Cd, Di multiples of 4): 16-byte copies
  std::byte* const* streams;
  size_t ssm_off;       // state ssm [H, P, N]
  float* ys;            // [rows, Di]
};

// mamba2.cpp's dt_of: softplus(raw + bias), then the clamps (NaN passes).
__device__ __forceinline__ float dt_of(float raw, float bias, float lo, float hi, bool has_hi) {
  float v = cuda::softplusf_(__fadd_rn(raw, bias));
  if (v < lo) v = lo;
  if (has_hi && v > hi) v = hi;
  return v;
}

using cuda::tree_sum;  // src/cuda/cuda_common.cuh

// Copies tc rows of m units of W floats (row t at src + t * lds) into dst
// [tc, m * W] with cp.async, W in {1, 4} (W = 4: 16-byte aligned source rows
// and stride). Threads are laid out as (row, unit) once per call: no
// division per element.
template <int W>
__device__ __forceinline__ void stage_rows(float* dst, const float* src, int64_t lds, int tc, int m) {
  if (m <= kScanThreads) {
    const int per = kScanThreads / m, t0 = threadIdx.x / m, j = threadIdx.x - t0 * m;
    if (t0 < per)
      for (int t = t0; t < tc; t += per) __pipeline_memcpy_async(dst + (t * m + j) * W, src + t * lds + j * W, 4 * W);
  } else {
    for (int t = 0; t < tc; ++t)
      for (int j = threadIdx.x; j < m; j += kScanThreads)
        __pipeline_memcpy_async(dst + (t * m + j) * W, src + t * lds + j * W, 4 * W);
  }
}

// Floats of one staging buffer: (staged B and C) B, C [tc, N] each, then x
// [tc, kRowsPerBlock] and dt_raw [tc]; rounded up to a multiple of 4 so that
// both buffers, and B and C rows when N % 4 == 0, are 16-byte aligned.
__host__ __device__ constexpr int64_t buffer_floats(int64_t tc, int64_t N, bool bc) {
  return (tc * (kRowsPerBlock + 1) + (bc ? 2 * tc * N : 0) + 3) / 4 * 4;
}

// grid (row_blocks * H, min(B, 65535)), block kScanThreads = 8 rows x 16
// lanes. Thread (row rr, lane l) owns the states n = l + 16 k of row
// p = blk * 8 + rr of head h. Per stream the positions are walked in chunks
// of tc, double-buffered: while a chunk is scanned, the next one (x of the
// block's 8 rows, the head's raw dt and, for NPL > 0, B and C of its group)
// is copied into shared memory with cp.async. When a chunk lands, dt and
// exp(dt A) are made once per position; then every lane runs its states
// through the chunk's positions, leaving its partial sums of S C in shared
// memory, and the block reduces them per (position, row) afterwards, so no
// cross-lane step sits in the position-to-position chain. NPL > 0: the
// states live in registers (N <= 16 NPL); NPL = 0: in global memory, with B
// and C read from xbc (any N).
template <int NPL>
__global__ void __launch_bounds__(kScanThreads, 5) mamba2_scan_kernel(ScanArgs a) {
  constexpr bool kStageBC = NPL > 0;
  extern __shared__ float smem[];
  const int N = int(a.N), tcm = int(a.tc);
  const int64_t P = a.P, T = a.T;
  const int64_t buf_floats = buffer_floats(tcm, N, kStageBC);
  float* sdt = smem + 2 * buf_floats;  // [tc] dt, single-buffered
  float* sdA = sdt + tcm;              // [tc] exp(dt A)
  float* spart = sdA + tcm;            // [tc, kScanThreads] each lane's partial sum of S C

  const int rr = threadIdx.x / kLanes, lane = threadIdx.x % kLanes;
  const int64_t h = blockIdx.x / a.row_blocks;
  const int64_t p0 = (blockIdx.x % a.row_blocks) * kRowsPerBlock;
  const int64_t p = p0 + rr;
  const bool valid = p < P;
  const int64_t g = h / a.hpg;
  const float Ah = a.A[h], Dh = a.Dv[h], dtb = a.dt_bias[h];
  const int64_t xcol = h * P;                 // x of head h in xbc (and y in ys)
  const int64_t bcol = a.Di + g * N;          // B of group g
  const int64_t ccol = a.Di + (a.G + g) * N;  // C of group g
  const int64_t dcol = a.Di + a.Cd + h;       // dt of head h in proj
  const int64_t nch = (T + tcm - 1) / tcm;

  for (int64_t b = blockIdx.y; b < a.B; b += gridDim.y) {
    float* S = cuda::state_f32(a.streams, b, a.ssm_off) + (h * P + (valid ? p : 0)) * N;
    float s[NPL > 0 ? NPL : 1];
    if constexpr (NPL > 0) {
#pragma unroll
      for (int k = 0; k < NPL; ++k) {
        const int n = lane + k * kLanes;
        s[k] = valid && n < N ? S[n] : 0.0f;
      }
    }
    // Issues the copies of chunk c into buffer c % 2 (one commit group per chunk).
    auto issue = [&](int64_t c) {
      float* sB = smem + (c & 1) * buf_floats;
      float* sC = sB + (kStageBC ? tcm * N : 0);
      float* sx = sC + (kStageBC ? tcm * N : 0);
      float* sraw = sx + tcm * kRowsPerBlock;
      const int64_t t0 = c * tcm, r0 = b * T + t0;
      const int tc = int(min(int64_t(tcm), T - t0));
      // Row tt of the chunk starts at xr0 + tt * Cd (offsets within a chunk fit in 32 bits).
      const float* xr0 = a.xbc + r0 * a.Cd;
      const int Cd = int(a.Cd);
      for (int i = threadIdx.x; i < tc * kRowsPerBlock; i += kScanThreads) {
        const int tt = i / kRowsPerBlock, q = int(p0) + i % kRowsPerBlock;
        if (q < P) {
          __pipeline_memcpy_async(sx + i, xr0 + int64_t(tt) * Cd + (xcol + q), 4);
        } else {
          sx[i] = 0.0f;
        }
      }
      const float* dr0 = a.proj + r0 * a.NP + dcol;
      for (int i = threadIdx.x; i < tc; i += kScanThreads) __pipeline_memcpy_async(sraw + i, dr0 + i * a.NP, 4);
      if constexpr (kStageBC) {
        if (a.vec4) {
          stage_rows<4>(sB, xr0 + bcol, Cd, tc, N / 4);
          stage_rows<4>(sC, xr0 + ccol, Cd, tc, N / 4);
        } else {
          stage_rows<1>(sB, xr0 + bcol, Cd, tc, N);
          stage_rows<1>(sC, xr0 + ccol, Cd, tc, N);
        }
      }
      __pipeline_commit();
    };

    issue(0);
    for (int64_t c = 0; c < nch; ++c) {
      if (c + 1 < nch) {
        issue(c + 1);  // its buffer was released by the barrier that ended chunk c - 1
      } else {
        __pipeline_commit();  // an empty group: wait_prior(1) below then waits for chunk c
      }
      __pipeline_wait_prior(1);
      __syncthreads();  // chunk c is in shared memory for every thread
      const float* sB = smem + (c & 1) * buf_floats;
      const float* sC = sB + (kStageBC ? tcm * N : 0);
      const float* sx = sC + (kStageBC ? tcm * N : 0);
      const float* sraw = sx + tcm * kRowsPerBlock;
      const int64_t t0 = c * tcm, r0 = b * T + t0;
      const int tc = int(min(int64_t(tcm), T - t0));
      for (int i = threadIdx.x; i < tc; i += kScanThreads) {
        const float dt = dt_of(sraw[i], dtb, a.dt_min, a.dt_max, a.has_dt_max);
        sdt[i] = dt;
        sdA[i] = expf(__fmul_rn(dt, Ah));
      }
      __syncthreads();
      // The recurrence: only the states carry from one position to the next;
      // each lane's partial sum over its states goes to shared memory.
#pragma unroll 2
      for (int tt = 0; tt < tc; ++tt) {
        const float dt = sdt[tt], dA = sdA[tt], xv = sx[tt * kRowsPerBlock + rr];
        const float dtx = __fmul_rn(dt, xv);
        float acc = 0.0f;
        if constexpr (NPL > 0) {
          const float* Bs = sB + tt * N;
          const float* Cs = sC + tt * N;
#pragma unroll
          for (int k = 0; k < NPL; ++k) {
            const int n = lane + k * kLanes;
            if (n < N) {
              const float v = __fmaf_rn(dtx, Bs[n], __fmul_rn(dA, s[k]));
              s[k] = v;
              acc = __fmaf_rn(v, Cs[n], acc);
            }
          }
        } else if (valid) {
          const float* xr = a.xbc + (r0 + tt) * a.Cd;
          for (int n = lane; n < N; n += kLanes) {
            const float v = __fmaf_rn(dtx, xr[bcol + n], __fmul_rn(dA, S[n]));
            S[n] = v;
            acc = __fmaf_rn(v, xr[ccol + n], acc);
          }
        }
        spart[tt * kScanThreads + threadIdx.x] = acc;
      }
      __syncthreads();
      // y of (position, row): the CPU's tree16 over the 16 lanes' sums
      // (lane i += lane i + s for s = 8, 4, 2, 1), then + D x.
      for (int i = threadIdx.x; i < tc * kRowsPerBlock; i += kScanThreads) {
        const int tt = i / kRowsPerBlock, q = i % kRowsPerBlock;
        if (p0 + q >= P) continue;
        const float sum = tree_sum<kLanes>(spart + tt * kScanThreads + q * kLanes);
        a.ys[(r0 + tt) * a.Di + xcol + p0 + q] = __fadd_rn(sum, __fmul_rn(Dh, sx[i]));
      }
      __syncthreads();  // buffer c % 2 and sdt / sdA are free for the next chunks
    }
    if constexpr (NPL > 0) {
      if (valid) {
#pragma unroll
        for (int k = 0; k < NPL; ++k) {
          const int n = lane + k * kLanes;
          if (n < N) S[n] = s[k];
        }
      }
    }
  }
}

// ------------------------------------------------------------------ gated norm

// grid (rows, min(Di / gs, 65535)), block: a multiple of 32 up to 1024.
// Row r, group j (grid-stride over groups):
//   v = ys * silu(z); ys = (v * (1 / sqrt(sum(v^2) / gs + eps))) * norm.weight
// v is made twice (for the sum, then for the output) rather than stored in
// between, so the first pass only loads.
__global__ void gated_norm_kernel(float* __restrict__ ys, const float* __restrict__ proj, const float* __restrict__ nw,
                                  int64_t Di, int64_t NP, int64_t gs, float eps) {
  __shared__ float part[32];
  __shared__ float inv_s;
  const int64_t r = blockIdx.x, groups = Di / gs;
  float* yr = ys + r * Di;
  const float* zr = proj + r * NP;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int64_t j = blockIdx.y; j < groups; j += gridDim.y) {
    const int64_t g0 = j * gs;
    float ss = 0.0f;
#pragma unroll 4
    for (int64_t i = threadIdx.x; i < gs; i += blockDim.x) {
      const float v = __fmul_rn(yr[g0 + i], cuda::siluf_(zr[g0 + i]));
      ss = __fmaf_rn(v, v, ss);
    }
#pragma unroll
    for (int sh = 16; sh >= 1; sh /= 2) ss += __shfl_xor_sync(0xffffffffu, ss, sh);
    __syncthreads();  // part / inv_s of the previous group are consumed
    if (lane == 0) part[warp] = ss;
    __syncthreads();
    if (warp == 0) {
      float t = lane < warps ? part[lane] : 0.0f;
#pragma unroll
      for (int sh = 16; sh >= 1; sh /= 2) t += __shfl_xor_sync(0xffffffffu, t, sh);
      if (lane == 0) inv_s = 1.0f / sqrtf(__fadd_rn(t / float(gs), eps));
    }
    __syncthreads();
    const float inv = inv_s;
#pragma unroll 4
    for (int64_t i = threadIdx.x; i < gs; i += blockDim.x) {
      const float v = __fmul_rn(yr[g0 + i], cuda::siluf_(zr[g0 + i]));
      yr[g0 + i] = __fmul_rn(__fmul_rn(v, inv), nw[g0 + i]);
    }
  }
}

// ------------------------------------------------------------------ the block

class CudaMamba2 final : public Block {
 public:
  CudaMamba2(const Config& c, const BlockInfo&, const WeightSource& w)
      : d_(dims(c)), eps_(float(c.f("norm_eps"))), dt_min_(float(c.f("dt_min"))), dt_max_(float(c.f("dt_max"))),
        has_dt_max_(c.f("dt_max") < kNoUpperLimit) {
    in_proj_ = cuda::Matrix::upload(w.get_matrix("in_proj.weight"), d_.NP, d_.D, w.matrix_dtype());
    out_proj_ = cuda::Matrix::upload(w.get_matrix("out_proj.weight"), d_.D, d_.Di, w.matrix_dtype());
    if (c.b("bias")) {
      in_bias_ = cuda::DeviceArray::upload(w.get("in_proj.bias"), size_t(d_.NP));
      out_bias_ = cuda::DeviceArray::upload(w.get("out_proj.bias"), size_t(d_.D));
    }
    std::vector<float> packed(size_t(d_.K * d_.Cd));
    conv::pack_conv_weight(w.get("conv1d.weight"), d_.Cd, d_.K, packed.data());
    conv_w_ = cuda::DeviceArray::upload(packed.data(), packed.size());
    if (c.b("conv_bias")) conv_b_ = cuda::DeviceArray::upload(w.get("conv1d.bias"), size_t(d_.Cd));
    dt_bias_ = cuda::DeviceArray::upload(w.get("dt_bias"), size_t(d_.H));
    D_ = cuda::DeviceArray::upload(w.get("D"), size_t(d_.H));
    norm_w_ = cuda::DeviceArray::upload(w.get("norm.weight"), size_t(d_.Di));
    // A = -exp(A_log), with the CPU's exp.
    std::vector<float> A(size_t(d_.H));
    cpu::vexp(w.get("A_log"), A.data(), d_.H);
    for (auto& v : A) v = -v;
    A_ = cuda::DeviceArray::upload(A.data(), A.size());
  }

  size_t weight_bytes() const override {
    return in_proj_.bytes() + out_proj_.bytes() + in_bias_.bytes() + out_bias_.bytes() + conv_w_.bytes() +
           conv_b_.bytes() + dt_bias_.bytes() + D_.bytes() + norm_w_.bytes() + A_.bytes();
  }

  size_t scratch_bytes(int64_t B, int64_t T) const override {
    const size_t rows = size_t(B * T);
    return align_up(rows * size_t(d_.NP) * 4) + align_up(rows * size_t(d_.Cd) * 4) +
           align_up(rows * size_t(d_.Di) * 4) +
           std::max(in_proj_.scratch_bytes(B * T), out_proj_.scratch_bytes(B * T));
  }

  bool accumulates() const override { return true; }

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs& st) const override {
    const cuda::Ctx& cu = cuda::ctx_of(ctx);
    const int64_t rows = B * T;
    if (rows <= 0) return;
    float* proj = ctx.ws.alloc<float>(size_t(rows * d_.NP));  // [rows, z | xBC | dt]
    float* xbc = ctx.ws.alloc<float>(size_t(rows * d_.Cd));   // conv output
    float* ys = ctx.ws.alloc<float>(size_t(rows * d_.Di));    // SSM output, then gated and normalised

    cuda::MatArgs in_args;
    in_args.bias = in_bias_.empty() ? nullptr : in_bias_.data();
    in_proj_.apply(ctx, rows, x, d_.D, proj, d_.NP, in_args);
    cuda::causal_conv(cu, proj + d_.Di, d_.NP, xbc, d_.Cd, B, T, d_.Cd, d_.K, conv_w_.data(),
                      conv_b_.empty() ? nullptr : conv_b_.data(), st.streams, st.offsets[0], conv::Act::silu);
    scan(cu, proj, xbc, ys, B, T, st);
    {
      const int64_t groups = d_.Di / d_.gs;
      // About 4 elements per thread, 32 to 1024 threads.
      const int threads = int(std::clamp<int64_t>((d_.gs / 4 + 31) / 32 * 32, 32, 1024));
      const dim3 grid(unsigned(rows), unsigned(std::min<int64_t>(groups, 65535)));
      gated_norm_kernel<<<grid, threads, 0, cu.stream>>>(ys, proj, norm_w_.data(), d_.Di, d_.NP, d_.gs, eps_);
      cuda::check_launch("mamba2 gated norm");
    }
    cuda::MatArgs out_args;
    out_args.bias = out_bias_.empty() ? nullptr : out_bias_.data();
    out_args.accumulate = ctx.accumulate;  // a fused residual add
    out_proj_.apply(ctx, rows, ys, d_.Di, y, d_.D, out_args);
  }

 private:
  void scan(const cuda::Ctx& cu, const float* proj, const float* xbc, float* ys, int64_t B, int64_t T,
            const StateRefs& st) const {
    const int64_t N = d_.N;
    const int64_t npl = (N + kLanes - 1) / kLanes;
    const bool in_regs = npl <= kMaxNpl;
    ScanArgs a{};
    a.B = B;
    a.T = T;
    a.Di = d_.Di;
    a.N = N;
    a.H = d_.H;
    a.P = d_.P;
    a.G = d_.G;
    a.hpg = d_.H / d_.G;
    a.Cd = d_.Cd;
    a.NP = d_.NP;
    a.tc = std::clamp<int64_t>(kBufferFloats / buffer_floats(1, N, in_regs), 1, std::min<int64_t>(kMaxChunk, T));
    a.row_blocks = (d_.P + kRowsPerBlock - 1) / kRowsPerBlock;
    a.proj = proj;
    a.xbc = xbc;
    a.dt_bias = dt_bias_.data();
    a.A = A_.data();
    a.Dv = D_.data();
    a.dt_min = dt_min_;
    a.dt_max = dt_max_;
    a.has_dt_max = has_dt_max_;
    // 16-byte copies of B and C: the shared rows (buffer start + t * N) are aligned when N % 4 == 0
    // (buffer_floats), the global ones when N, Di (so Cd and the B / C columns) and xbc are.
    a.vec4 = N % 4 == 0 && d_.Di % 4 == 0 && reinterpret_cast<uintptr_t>(xbc) % 16 == 0;
    a.streams = st.streams;
    a.ssm_off = st.offsets[1];
    a.ys = ys;
    // Two staging buffers, dt, exp(dt A) and the lanes' partial sums: at most about
    // 2 * (kBufferFloats + 2 * 256) + kMaxChunk * (2 + kScanThreads) floats (under 48 KiB).
    const size_t smem = size_t(2 * buffer_floats(a.tc, N, in_regs) + a.tc * (2 + kScanThreads)) * sizeof(float);
    const int64_t blocks = a.row_blocks * d_.H;
    SEQC_CHECK(blocks <= int64_t(0x7fffffff), "mamba2: too many heads x rows for one grid");
    const dim3 grid(unsigned(blocks), unsigned(std::min<int64_t>(B, 65535)));
    if (npl <= 1) {
      mamba2_scan_kernel<1><<<grid, kScanThreads, smem, cu.stream>>>(a);
    } else if (npl <= 2) {
      mamba2_scan_kernel<2><<<grid, kScanThreads, smem, cu.stream>>>(a);
    } else if (npl <= 4) {
      mamba2_scan_kernel<4><<<grid, kScanThreads, smem, cu.stream>>>(a);
    } else if (npl <= 8) {
      mamba2_scan_kernel<8><<<grid, kScanThreads, smem, cu.stream>>>(a);
    } else if (npl <= 16) {
      mamba2_scan_kernel<16><<<grid, kScanThreads, smem, cu.stream>>>(a);
    } else {
      mamba2_scan_kernel<0><<<grid, kScanThreads, smem, cu.stream>>>(a);
    }
    cuda::check_launch("mamba2 scan");
  }

  Dims d_;
  float eps_, dt_min_, dt_max_;
  bool has_dt_max_;
  cuda::Matrix in_proj_, out_proj_;
  cuda::DeviceArray in_bias_, out_bias_, conv_w_, conv_b_, dt_bias_, D_, norm_w_, A_;
};

}  // namespace

std::unique_ptr<Block> create_cuda_mamba2(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<CudaMamba2>(c, info, w);
}

}  // namespace seqc
