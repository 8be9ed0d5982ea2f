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
// A step, and a forward with prefill "scan" (or of fewer than kSsdMinT
// positions), runs the exact recurrence: a forward over T positions equals
// T steps (exactly, on the GPU). A forward of kSsdMinT positions or more with
// prefill "ssd" or "auto" (the default) runs the chunked SSD kernels below,
// within a tolerance of the steps. The scan kernel performs ssm_step_head's operations in its
// order: 16 lanes per row p, lane l owning the states n = l, l + 16, ... (the
// CPU's 16 accumulator lanes, fma chains in increasing n), then the same
// pairwise tree (8, 4, 2, 1), then + D x. Its results differ from the CPU's
// only through exp/softplus (libdevice instead of cpu::vexp); the GEMMs are
// cuBLAS's and the gated norm's sum of squares is a parallel reduction, so
// the block as a whole agrees with the CPU to rounding.
//
// Launches per call: in_proj GEMM (+ bias), conv (1, or 2 for long calls),
// scan (or the 3 SSD kernels), gated norm (which writes out_proj's input
// rounded to bf16/f16 when out_proj rounds it), out_proj GEMM (+ bias).
#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include <cuda_pipeline_primitives.h>
#include <mma.h>

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

// What the scan and the SSD kernels share: the call's sizes, inputs,
// parameters, states and output.
struct HeadArgs {
  int64_t B, T, Di, N, H, P, G, hpg, Cd, NP;
  const float* proj;    // [rows, NP]: dt_raw of head h at column Di + Cd + h
  const float* xbc;     // [rows, Cd]: x [Di] | B [G, N] | C [G, N]
  const float* dt_bias; // [H]
  const float* A;       // [H] -exp(A_log)
  const float* Dv;      // [H]
  float dt_min, dt_max;
  bool has_dt_max;
  std::byte* const* streams;
  size_t ssm_off;       // state ssm [H, P, N]
  float* ys;            // [rows, Di]
};

struct ScanArgs : HeadArgs {
  int64_t tc;           // positions per staged chunk
  int64_t row_blocks;   // ceil(P / kRowsPerBlock)
  bool vec4;            // B and C rows 16-byte aligned (N, Cd, Di multiples of 4): 16-byte copies
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

// ------------------------------------------------------------------ the chunked (SSD) prefill

// A forward over T > 1 positions with prefill "ssd" or "auto" runs the
// chunked SSD algorithm of mamba2.cpp (docs/numerics.md) on chunks of
// Q = kSsdQ positions (fewer where shared memory is short; chunk_size is
// the CPU's), as three kernels:
//   1. ssd_state_kernel, per (chunk, head, half of the rows p, stream): dt
//      and a = A dt of the chunk, the chunk's own end state from a zero state,
//        S_c[p, n] = sum_j exp(a[j+1] + ... + a[q-1]) dt_j x_j[p] B_j[n],
//      and its decay exp(a[0] + ... + a[q-1]); further blocks of the same
//      launch make C B^T [Q, Q] per (chunk, group) for step 3;
//   2. ssd_pass_kernel, per state element: the chunks in order,
//        h <- decay_c h + S_c, leaving in S_c the state before chunk c and
//      the last h in the stream's state;
//   3. ssd_output_kernel, per (chunk, head, stream):
//        y_t[p] = sum_{j<=t} (C_t . B_j) exp(a[j+1] + ... + a[t]) dt_j x_j[p]
//               + exp(a[0] + ... + a[t]) sum_n C_t[n] h_prev[p, n] + D x_t[p].
// The products are register-tiled (4 x 4 per thread) over shared memory, in
// f32 (with 2-byte weight matrices, the tensor-core kernels further below). Every segment sum of a is accumulated directly (no difference of
// cumulative sums) and every exponent is <= 0, as on the CPU. A forward so
// agrees with the steps within a tolerance (about 1e-6 relative), not bit
// for bit; prefill "scan" keeps the exact recurrence (mamba2_scan_kernel).
constexpr int kSsdQ = 64;  // positions per chunk at most
constexpr int kSsdThreads = 256;

struct SsdArgs : HeadArgs {
  int64_t Q, nch;       // positions per chunk, chunks per stream
  int psplit;           // the state kernel's blocks per head, each for Pp rows p
  int Np, Pp, Po, Qp;   // shared row lengths: N rounded up to 4, the state kernel's rows per block
                        // (a multiple of 4), the output kernel's (P rounded up to 4), Q + 4;
                        // the tensor-core kernels round N, Pp and Po up to 16 and ignore Qp
  float* sloc;          // [B, nch, H, P, N]: chunk c's own end state, then the state before chunk c
  float* decay;         // [B, nch, H]: exp(a[0] + ... + a[q-1]) of chunk c
  float* cb;            // [B, nch, G, Q, Q]: C B^T of chunk c, group g
  bool vec4;            // N and P multiples of 4, sloc and ys 16-byte aligned: 16-byte stores
  bool cp16;            // the tensor-core kernels' staged rows allow 16-byte copies
};

// Shared floats of the output kernel: C^T [Np][Qp], h_prev^T [Np][Pp], M^T
// [Q][Qp], x [Q][Pp], dt, a and exp(cumsum) [Q]; of the C B^T kernel: C^T and
// B^T [Np][Qp].
__host__ __device__ inline size_t ssd_output_floats(int64_t Q, int Np, int Pp, int Qp) {
  return size_t(Np) * Qp + size_t(Np) * Pp + size_t(Q) * Qp + size_t(Q) * Pp + 3 * size_t(Q);
}
__host__ __device__ inline size_t ssd_cb_floats(int Np, int Qp) { return 2 * size_t(Np) * Qp; }
// Of the state kernel: x dt decay [Q][Pp], B [Q][Np], dt, a and weights [Q].
__host__ __device__ inline size_t ssd_state_floats(int64_t Q, int Np, int Pp) {
  return size_t(Q) * Pp + size_t(Q) * Np + 3 * size_t(Q);
}

// dt and a = A dt of the chunk's positions t < q, into sdt and sa.
__device__ __forceinline__ void ssd_chunk_dt(const SsdArgs& a, int64_t r0, int64_t h, int q, float* sdt, float* sa) {
  const float Ah = a.A[h], dtb = a.dt_bias[h];
  for (int t = threadIdx.x; t < q; t += blockDim.x) {
    const float dt = dt_of(a.proj[(r0 + t) * a.NP + a.Di + a.Cd + h], dtb, a.dt_min, a.dt_max, a.has_dt_max);
    sdt[t] = dt;
    sa[t] = __fmul_rn(dt, Ah);
  }
}

// acc[i][j] += u[i] v[j] for float4 u, v.
__device__ __forceinline__ void outer4(float (&acc)[4][4], float4 u, float4 v) {
  const float uu[4] = {u.x, u.y, u.z, u.w}, vv[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(uu[i], vv[j], acc[i][j]);
}

using cuda::ld4;

// acc[i][j] += sum_{k < K} u[k * ldu + i] v[k * ldv + j]: a 4 x 4 tile of
// U^T V from shared memory (u and v 16-byte aligned, at the tile's corner).
__device__ __forceinline__ void tile_mac(float (&acc)[4][4], const float* u, int ldu, const float* v, int ldv, int K) {
#pragma unroll 4
  for (int k = 0; k < K; ++k) outer4(acc, ld4(u + k * ldu), ld4(v + k * ldv));
}

// For t < rows and j < cols: st(t, j, ld(t, j)), a warp per row and a lane
// per column (no division), 4 loads in flight per lane and row.
template <typename Ld, typename St>
__device__ __forceinline__ void stage2d(int rows, int cols, Ld ld, St st) {
  constexpr int kWarps = kSsdThreads / 32, kInFlight = 4;
  const int w = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll 2
  for (int t = w; t < rows; t += kWarps) {
    for (int j0 = lane; j0 < cols; j0 += 32 * kInFlight) {
      float v[kInFlight];
#pragma unroll
      for (int k = 0; k < kInFlight; ++k) v[k] = j0 + 32 * k < cols ? ld(t, j0 + 32 * k) : 0.0f;
#pragma unroll
      for (int k = 0; k < kInFlight; ++k)
        if (j0 + 32 * k < cols) st(t, j0 + 32 * k, v[k]);
    }
  }
}

// C^T [Np][Qp] of chunk rows r0 .. r0 + q of group g (zero past q and N).
__device__ __forceinline__ void stage_ct(const SsdArgs& a, float* dst, int64_t r0, int q, int64_t col) {
  const int N = int(a.N), Qp = a.Qp;
  stage2d(
      int(a.Q), a.Np,
      [&](int t, int n) { return t < q && n < N ? a.xbc[(r0 + t) * a.Cd + a.Di + col + n] : 0.0f; },
      [&](int t, int n, float v) { dst[n * Qp + t] = v; });
}

// C B^T [Q][Q] of chunk c and group g, shared by the group's heads: the
// blocks of ssd_state_kernel past its heads.
__device__ __forceinline__ void ssd_cb_block(const SsdArgs& a, float* smem, int64_t c, int64_t g) {
  const int Q = int(a.Q), Np = a.Np, Qp = a.Qp;
  float* CT = smem;         // [Np][Qp]
  float* BT = CT + Np * Qp;  // [Np][Qp]
  for (int64_t b = blockIdx.z; b < a.B; b += gridDim.z) {
    const int64_t t0 = c * Q, r0 = b * a.T + t0;
    const int q = int(min(int64_t(Q), a.T - t0));
    stage_ct(a, CT, r0, q, (a.G + g) * a.N);
    stage_ct(a, BT, r0, q, g * a.N);
    __syncthreads();
    float* out = a.cb + ((b * a.nch + c) * a.G + g) * Q * Q;
    const int tq = Q / 4;
    for (int tile = threadIdx.x; tile < tq * tq; tile += kSsdThreads) {
      const int i0 = tile / tq * 4, j0 = tile % tq * 4;
      float acc[4][4] = {};
      tile_mac(acc, CT + i0, Qp, BT + j0, Qp, Np);
#pragma unroll
      for (int i = 0; i < 4; ++i)
        *reinterpret_cast<float4*>(out + (i0 + i) * Q + j0) = make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
    }
    __syncthreads();  // shared memory is free for the next stream
  }
}

// grid (nch, H psplit + G, min(B, 65535)), block kSsdThreads: block (c, y)
// makes chunk c's own end state for rows [p0, p0 + Pp) of head y / psplit
// (p0 = (y % psplit) Pp), or for y >= H psplit C B^T of group y - H psplit.
__global__ void __launch_bounds__(kSsdThreads) ssd_state_kernel(SsdArgs a) {
  cuda::pdl_wait();  // see launch_pdl
  extern __shared__ __align__(16) float smem[];
  if (blockIdx.y >= a.H * a.psplit) {
    ssd_cb_block(a, smem, blockIdx.x, blockIdx.y - a.H * a.psplit);
    return;
  }
  const int Q = int(a.Q), Np = a.Np, Pp = a.Pp, N = int(a.N);
  float* xw = smem;                  // [Q][Pp] dt_j x_j decayed to the chunk's end
  float* sB = xw + Q * Pp;           // [Q][Np]
  float* sdt = sB + Q * Np;          // [Q]
  float* sa = sdt + Q;               // [Q]
  float* sw = sa + Q;                // [Q] exp(a[j+1] + ... + a[q-1]) dt_j
  const int64_t c = blockIdx.x, h = blockIdx.y / a.psplit, g = h / a.hpg;
  const int p0 = int(blockIdx.y % a.psplit) * Pp, P = min(Pp, int(a.P) - p0);  // this block's rows
  for (int64_t b = blockIdx.z; b < a.B; b += gridDim.z) {
    const int64_t t0 = c * Q, r0 = b * a.T + t0;
    const int q = int(min(int64_t(Q), a.T - t0));
    ssd_chunk_dt(a, r0, h, q, sdt, sa);
    __syncthreads();
    for (int j = threadIdx.x; j < q; j += kSsdThreads) {  // the sums from the chunk's end backwards
      float sum = 0.0f;
      for (int k = q - 1; k > j; --k) sum = __fadd_rn(sum, sa[k]);
      sw[j] = __fmul_rn(expf(sum), sdt[j]);
      if (j == 0 && p0 == 0) a.decay[(b * a.nch + c) * a.H + h] = expf(__fadd_rn(sum, sa[0]));
    }
    __syncthreads();
    stage2d(
        Q, Pp,
        [&](int j, int p) {
          return j < q && p < P ? __fmul_rn(a.xbc[(r0 + j) * a.Cd + h * a.P + p0 + p], sw[j]) : 0.0f;
        },
        [&](int j, int p, float v) { xw[j * Pp + p] = v; });
    stage2d(
        Q, Np, [&](int j, int n) { return j < q && n < N ? a.xbc[(r0 + j) * a.Cd + a.Di + g * N + n] : 0.0f; },
        [&](int j, int n, float v) { sB[j * Np + n] = v; });
    __syncthreads();
    float* out = a.sloc + (((b * a.nch + c) * a.H + h) * a.P + p0) * N;
    const int tn = Np / 4, tiles = (Pp / 4) * tn;
    for (int tile = threadIdx.x; tile < tiles; tile += kSsdThreads) {
      const int i0 = tile / tn * 4, n0 = tile % tn * 4;
      float acc[4][4] = {};
      tile_mac(acc, xw + i0, Pp, sB + n0, Np, q);
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        if (i0 + i >= P) break;
        float* o = out + (i0 + i) * N + n0;
        if (a.vec4) {  // n0 + 3 < N
          *reinterpret_cast<float4*>(o) = make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
        } else {
#pragma unroll
          for (int k = 0; k < 4; ++k)
            if (n0 + k < N) o[k] = acc[i][k];
        }
      }
    }
    __syncthreads();  // shared memory is free for the next stream
  }
}

// grid (ceil(P N / 256), H, min(B, 65535)), block 256: element i of head h's
// state through the chunks in order.
__global__ void ssd_pass_kernel(SsdArgs a) {
  cuda::pdl_wait();  // see launch_pdl
  const int64_t PN = a.P * a.N, i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, h = blockIdx.y;
  if (i >= PN) return;
  constexpr int kBatch = 8;  // chunks whose loads are issued together
  for (int64_t b = blockIdx.z; b < a.B; b += gridDim.z) {
    float* S = cuda::state_f32(a.streams, b, a.ssm_off) + h * PN + i;
    float v = *S;
    for (int64_t c0 = 0; c0 < a.nch; c0 += kBatch) {
      float local[kBatch], dec[kBatch];
      const int m = int(min(int64_t(kBatch), a.nch - c0));
#pragma unroll
      for (int k = 0; k < kBatch; ++k) {
        if (k < m) {
          local[k] = __ldcg(a.sloc + ((b * a.nch + c0 + k) * a.H + h) * PN + i);
          dec[k] = a.decay[(b * a.nch + c0 + k) * a.H + h];
        }
      }
#pragma unroll
      for (int k = 0; k < kBatch; ++k) {
        if (k < m) {
          a.sloc[((b * a.nch + c0 + k) * a.H + h) * PN + i] = v;
          v = fmaf(dec[k], v, local[k]);
        }
      }
    }
    *S = v;
  }
}

// grid (nch, H, min(B, 65535)), block kSsdThreads: y of chunk c, head h,
// all rows p (a split by rows would build C^T and M twice).
__global__ void __launch_bounds__(kSsdThreads, 2) ssd_output_kernel(SsdArgs a) {
  cuda::pdl_wait();  // see launch_pdl
  extern __shared__ __align__(16) float smem[];
  const int Q = int(a.Q), Np = a.Np, Pp = a.Po, Qp = a.Qp, N = int(a.N), P = int(a.P);
  float* CT = smem;                          // [Np][Qp] C^T
  float* HT = CT + Np * Qp;                  // [Np][Pp] h_prev^T
  float* MT = HT + Np * Pp;                  // [Q][Qp] M^T: M[t][j] at MT[j * Qp + t]
  float* xs = MT + Q * Qp;                   // [Q][Pp] x
  float* sdt = xs + Q * Pp;                  // [Q]
  float* sa = sdt + Q;                       // [Q]
  float* se = sa + Q;                        // [Q] exp(a[0] + ... + a[t])
  const int64_t c = blockIdx.x, h = blockIdx.y, g = h / a.hpg;
  const float Dh = a.Dv[h];
  for (int64_t b = blockIdx.z; b < a.B; b += gridDim.z) {
    const int64_t t0 = c * Q, r0 = b * a.T + t0;
    const int q = int(min(int64_t(Q), a.T - t0));
    ssd_chunk_dt(a, r0, h, q, sdt, sa);
    stage_ct(a, CT, r0, q, (a.G + g) * N);
    stage2d(
        Q, Pp, [&](int t, int p) { return t < q && p < P ? a.xbc[(r0 + t) * a.Cd + h * P + p] : 0.0f; },
        [&](int t, int p, float v) { xs[t * Pp + p] = v; });
    const float* cb = a.cb + ((b * a.nch + c) * a.G + g) * Q * Q;
    stage2d(
        Q, Q, [&](int t, int j) { return cb[t * Q + j]; }, [&](int t, int j, float v) { MT[j * Qp + t] = v; });
    const float* hp = a.sloc + ((b * a.nch + c) * a.H + h) * P * N;
    stage2d(
        Pp, Np, [&](int p, int n) { return p < P && n < N ? hp[p * N + n] : 0.0f; },
        [&](int p, int n, float v) { HT[n * Pp + p] = v; });
    __syncthreads();
    for (int t = threadIdx.x; t < Q; t += kSsdThreads) {  // 0 past q (rows of zeros)
      float sum = 0.0f;
      for (int k = 0; k <= t && k < q; ++k) sum = __fadd_rn(sum, sa[k]);
      se[t] = t < q ? expf(sum) : 0.0f;
    }
    // M[t][j] = (C B^T)[t][j] exp(a[j+1] + ... + a[t]) dt_j for j <= t, else
    // 0: row t by thread t, the segment sum grown from the diagonal.
    if (threadIdx.x < Q) {
      const int t = threadIdx.x;
      float sum = 0.0f;
      for (int j = min(t, q - 1); j >= 0; --j) {
        MT[j * Qp + t] = __fmul_rn(MT[j * Qp + t], __fmul_rn(expf(sum), sdt[j]));
        sum = __fadd_rn(sum, sa[j]);
      }
      for (int j = min(t, q - 1) + 1; j < Q; ++j) MT[j * Qp + t] = 0.0f;
    }
    __syncthreads();
    // y by 4 x 4 tiles of (t, p).
    const int tq = Q / 4, tp = Pp / 4;
    for (int tile = threadIdx.x; tile < tq * tp; tile += kSsdThreads) {
      const int i0 = tile / tp * 4, k0 = tile % tp * 4;
      // exp(cumsum) C h_prev^T first, then the chunk's own terms on top.
      float acc[4][4] = {};
      tile_mac(acc, CT + i0, Qp, HT + k0, Pp, Np);
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int k = 0; k < 4; ++k) acc[i][k] = __fmul_rn(acc[i][k], se[i0 + i]);
      tile_mac(acc, MT + i0, Qp, xs + k0, Pp, q);
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int t = i0 + i;
        if (t >= q) break;
        float* yr = a.ys + (r0 + t) * a.Di + h * P + k0;
        float v[4];
#pragma unroll
        for (int k = 0; k < 4; ++k)
          v[k] = __fadd_rn(acc[i][k], __fmul_rn(Dh, xs[t * Pp + k0 + k]));
        if (a.vec4) {  // k0 + 3 < P
          *reinterpret_cast<float4*>(yr) = make_float4(v[0], v[1], v[2], v[3]);
        } else {
#pragma unroll
          for (int k = 0; k < 4; ++k)
            if (k0 + k < P) yr[k] = v[k];
        }
      }
    }
    __syncthreads();  // shared memory is free for the next stream
  }
}

// ------------------------------------------------------------------ the SSD on tensor cores

// With 2-byte weight matrices (bf16, f16) the three SSD products run on the
// tensor cores in TF32 (inputs rounded to a 10-bit mantissa, f32
// accumulation), as WMMA 16 x 16 x 8 tiles over shared memory, one warp per
// output tile; an f32 model keeps the f32 kernels above. Such a model
// already rounds its GEMM inputs to 8 or 11 bits in a long call
// (cuda/weight_dtypes: a bound of 3e-2), so TF32 adds less error than its
// projections do. Apart from the rounding, these kernels differ from the f32
// ones in that:
//   - every operand is staged untransposed with cp.async (16-byte pieces
//     where the rows allow), zero-padded to multiples of 16 rows and columns
//     (Np, Pp, Po below), each shared row padded by 4 floats against bank
//     conflicts;
//   - a segment sum a[j+1] + ... + a[t] is the difference of the chunk's
//     cumulative sums, cs[t] - cs[j] (as mamba_ssm computes it), made for
//     every element at once instead of grown along a row;
//   - M x skips the tiles of M above its diagonal.
namespace wmma = nvcuda::wmma;
template <typename L>
using TcA = wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, L>;
template <typename L>
using TcB = wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, L>;
using TcC = wmma::fragment<wmma::accumulator, 16, 16, 8, float>;
constexpr int kTcWarps = kSsdThreads / 32;
constexpr int kTcPad = 4;  // floats after each shared row

__host__ __device__ constexpr int tc_round16(int64_t n) { return int((n + 15) / 16 * 16); }

// acc += A B over k < K (a multiple of 8), A 16 x K at a (leading dimension
// lda, layout LA), B K x 16 at b (ldb, LB), all in shared memory.
template <typename LA, typename LB>
__device__ __forceinline__ void tc_mma(TcC& acc, const float* a, int lda, const float* b, int ldb, int K) {
  constexpr bool a_row = std::is_same_v<LA, wmma::row_major>, b_row = std::is_same_v<LB, wmma::row_major>;
  for (int k = 0; k < K; k += 8) {
    TcA<LA> fa;
    TcB<LB> fb;
    wmma::load_matrix_sync(fa, a_row ? a + k : a + k * lda, lda);
    wmma::load_matrix_sync(fb, b_row ? b + k * ldb : b + k, ldb);
#pragma unroll
    for (int i = 0; i < fa.num_elements; ++i) fa.x[i] = wmma::__float_to_tf32(fa.x[i]);
#pragma unroll
    for (int i = 0; i < fb.num_elements; ++i) fb.x[i] = wmma::__float_to_tf32(fb.x[i]);
    wmma::mma_sync(acc, fa, fb, acc);
  }
}

// rows x cols floats to shared dst (row stride ldd) from global src (row
// stride lds): the elements of rows < vr and columns < vc with cp.async (16
// bytes at a time when vec: vc and lds multiples of 4, src 16-byte
// aligned), the others zero. The caller commits and waits.
__device__ __forceinline__ void tc_stage(float* dst, int ldd, const float* src, int64_t lds, int rows, int cols,
                                         int vr, int vc, bool vec) {
  if (vec) {
    const int c4 = cols / 4;
    for (int i = threadIdx.x; i < rows * c4; i += kSsdThreads) {
      const int r = i / c4, c = (i - r * c4) * 4;
      float* d = dst + r * ldd + c;
      if (r < vr && c < vc)
        __pipeline_memcpy_async(d, src + r * lds + c, 16);
      else
        *reinterpret_cast<float4*>(d) = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
  } else {
    for (int i = threadIdx.x; i < rows * cols; i += kSsdThreads) {
      const int r = i / cols, c = i - r * cols;
      float* d = dst + r * ldd + c;
      if (r < vr && c < vc)
        __pipeline_memcpy_async(d, src + r * lds + c, 4);
      else
        *d = 0.0f;
    }
  }
}

// Warp 0: dt of the chunk's positions t < q (0 from q to Q) into sdt, and
// the inclusive cumulative sums cs[t] = a[0] + ... + a[t] of a = A dt into
// scs (constant from q - 1 on).
__device__ __forceinline__ void tc_chunk_cumsum(const SsdArgs& a, int64_t r0, int64_t h, int q, float* sdt,
                                                float* scs) {
  if (threadIdx.x >= 32) return;
  const int lane = threadIdx.x, Q = int(a.Q);
  const float Ah = a.A[h], dtb = a.dt_bias[h];
  float carry = 0.0f;
  for (int t0 = 0; t0 < Q; t0 += 32) {
    const int t = t0 + lane;
    float dt = 0.0f, v = 0.0f;
    if (t < q) {
      dt = dt_of(a.proj[(r0 + t) * a.NP + a.Di + a.Cd + h], dtb, a.dt_min, a.dt_max, a.has_dt_max);
      v = __fmul_rn(dt, Ah);
    }
#pragma unroll
    for (int s = 1; s < 32; s *= 2) {
      const float o = __shfl_up_sync(0xffffffffu, v, s);
      if (lane >= s) v = __fadd_rn(v, o);
    }
    v = __fadd_rn(v, carry);
    if (t < Q) {
      sdt[t] = dt;
      scs[t] = v;
    }
    carry = __shfl_sync(0xffffffffu, v, 31);
  }
}

// Shared floats of the tensor-core kernels (Np, Pp, Po multiples of 16).
__host__ __device__ inline size_t tc_output_floats(int64_t Q, int Np, int Po) {
  return size_t(Q + Po) * (Np + kTcPad) + size_t(Q) * (Q + kTcPad) + size_t(Q) * (Po + kTcPad) + 3 * size_t(Q) +
         kTcWarps * 256;
}
__host__ __device__ inline size_t tc_state_floats(int64_t Q, int Np, int Pp) {
  return size_t(Q) * (Pp + kTcPad) + size_t(Q) * (Np + kTcPad) + 3 * size_t(Q) + kTcWarps * 256;
}
__host__ __device__ inline size_t tc_cb_floats(int64_t Q, int Np) { return 2 * size_t(Q) * (Np + kTcPad); }

// Each lane's share of a warp's 16 x 16 tile st (row-major): f(row, column, value).
template <typename F>
__device__ __forceinline__ void tc_tile_out(const float* st, F f) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int e = lane; e < 256; e += 32) f(e / 16, e % 16, st[e]);
}

// C B^T [Q, Q] of chunk c and group g (the blocks of ssd_state_tc_kernel
// past its heads).
__device__ __forceinline__ void ssd_cb_tc_block(const SsdArgs& a, float* smem, int64_t c, int64_t g) {
  const int Q = int(a.Q), N = int(a.N), Np = a.Np, ld = Np + kTcPad, warp = threadIdx.x / 32;
  float* Cs = smem;         // [Q][ld] C
  float* Bs = Cs + Q * ld;  // [Q][ld] B
  for (int64_t b = blockIdx.z; b < a.B; b += gridDim.z) {
    const int64_t t0 = c * Q, r0 = b * a.T + t0;
    const int q = int(min(int64_t(Q), a.T - t0));
    tc_stage(Cs, ld, a.xbc + r0 * a.Cd + a.Di + (a.G + g) * N, a.Cd, Q, Np, q, N, a.cp16);
    tc_stage(Bs, ld, a.xbc + r0 * a.Cd + a.Di + g * N, a.Cd, Q, Np, q, N, a.cp16);
    __pipeline_commit();
    __pipeline_wait_prior(0);
    __syncthreads();
    float* out = a.cb + ((b * a.nch + c) * a.G + g) * Q * Q;
    const int tq = Q / 16;
    for (int tile = warp; tile < tq * tq; tile += kTcWarps) {
      const int i0 = tile / tq * 16, j0 = tile % tq * 16;
      TcC acc;
      wmma::fill_fragment(acc, 0.0f);
      // B^T (n, j) = B[j][n]: column-major at Bs + j0 ld.
      tc_mma<wmma::row_major, wmma::col_major>(acc, Cs + i0 * ld, ld, Bs + j0 * ld, ld, Np);
      wmma::store_matrix_sync(out + i0 * Q + j0, acc, Q, wmma::mem_row_major);  // 64-byte aligned
    }
    __syncthreads();  // shared memory is free for the next stream
  }
}

// ssd_state_kernel's work on the tensor cores: grid (nch, G + H psplit,
// min(B, 65535)), block kSsdThreads: blocks y < G make C B^T of group y,
// the others a chunk's end state for Pp rows p of head (y - G) / psplit.
__global__ void __launch_bounds__(kSsdThreads) ssd_state_tc_kernel(SsdArgs a) {
  cuda::pdl_wait();  // see launch_pdl
  extern __shared__ __align__(128) float smem[];
  if (blockIdx.y < a.G) {  // first: they take longer than the heads' blocks
    ssd_cb_tc_block(a, smem, blockIdx.x, blockIdx.y);
    return;
  }
  const int Q = int(a.Q), N = int(a.N), Np = a.Np, Pp = a.Pp, ldx = Pp + kTcPad, ldb = Np + kTcPad;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* Xs = smem;          // [Q][ldx] x_j of the block's rows, times exp(cs[q-1] - cs[j]) dt_j
  float* Bs = Xs + Q * ldx;  // [Q][ldb] B_j
  float* sdt = Bs + Q * ldb;  // [Q]
  float* scs = sdt + Q;      // [Q]
  float* sw = scs + Q;       // [Q]
  float* stg = sw + Q;       // [warps][256]
  const int64_t y = blockIdx.y - a.G, c = blockIdx.x, h = y / a.psplit, g = h / a.hpg;
  const int p0 = int(y % a.psplit) * Pp, P = min(Pp, int(a.P) - p0);  // this block's rows
  for (int64_t b = blockIdx.z; b < a.B; b += gridDim.z) {
    const int64_t t0 = c * Q, r0 = b * a.T + t0;
    const int q = int(min(int64_t(Q), a.T - t0));
    tc_stage(Xs, ldx, a.xbc + r0 * a.Cd + h * a.P + p0, a.Cd, Q, Pp, q, P, a.cp16);
    tc_stage(Bs, ldb, a.xbc + r0 * a.Cd + a.Di + g * N, a.Cd, Q, Np, q, N, a.cp16);
    __pipeline_commit();
    tc_chunk_cumsum(a, r0, h, q, sdt, scs);
    __syncthreads();
    const float last = scs[q - 1];
    for (int j = threadIdx.x; j < Q; j += kSsdThreads) sw[j] = j < q ? __fmul_rn(expf(last - scs[j]), sdt[j]) : 0.0f;
    if (threadIdx.x == 0 && p0 == 0) a.decay[(b * a.nch + c) * a.H + h] = expf(last);
    __pipeline_wait_prior(0);
    __syncthreads();
    for (int j = warp; j < q; j += kTcWarps)
      for (int p = lane; p < Pp; p += 32) Xs[j * ldx + p] = __fmul_rn(Xs[j * ldx + p], sw[j]);
    __syncthreads();
    float* out = a.sloc + (((b * a.nch + c) * a.H + h) * a.P + p0) * N;
    const int tn = Np / 16, K = (q + 7) / 8 * 8;
    float* st = stg + warp * 256;
    for (int tile = warp; tile < (Pp / 16) * tn; tile += kTcWarps) {
      const int i0 = tile / tn * 16, n0 = tile % tn * 16;
      TcC acc;
      wmma::fill_fragment(acc, 0.0f);
      // (x w)^T (p, j) = Xs[j][p]: column-major at Xs + i0.
      tc_mma<wmma::col_major, wmma::row_major>(acc, Xs + i0, ldx, Bs + n0, ldb, K);
      wmma::store_matrix_sync(st, acc, 16, wmma::mem_row_major);
      __syncwarp();
      tc_tile_out(st, [&](int r, int k, float v) {
        if (i0 + r < P && n0 + k < N) out[(i0 + r) * N + n0 + k] = v;
      });
      __syncwarp();
    }
    __syncthreads();  // shared memory is free for the next stream
  }
}

// ssd_output_kernel's work on the tensor cores: grid (nch, H, min(B,
// 65535)), block kSsdThreads; all Po rows p of the head.
__global__ void __launch_bounds__(kSsdThreads, 2) ssd_output_tc_kernel(SsdArgs a) {
  cuda::pdl_wait();  // see launch_pdl
  extern __shared__ __align__(128) float smem[];
  const int Q = int(a.Q), N = int(a.N), P = int(a.P), Np = a.Np, Po = a.Po;
  const int ldc = Np + kTcPad, ldm = Q + kTcPad, ldx = Po + kTcPad, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* Cs = smem;           // [Q][ldc] C
  float* Hs = Cs + Q * ldc;   // [Po][ldc] h_prev
  float* Ms = Hs + Po * ldc;  // [Q][ldm] C B^T, then M
  float* Xs = Ms + Q * ldm;   // [Q][ldx] x
  float* sdt = Xs + Q * ldx;  // [Q]
  float* scs = sdt + Q;       // [Q]
  float* se = scs + Q;        // [Q] exp(cs[t])
  float* stg = se + Q;        // [warps][256]
  const int64_t c = blockIdx.x, h = blockIdx.y, g = h / a.hpg;
  const float Dh = a.Dv[h];
  for (int64_t b = blockIdx.z; b < a.B; b += gridDim.z) {
    const int64_t t0 = c * Q, r0 = b * a.T + t0;
    const int q = int(min(int64_t(Q), a.T - t0));
    tc_stage(Cs, ldc, a.xbc + r0 * a.Cd + a.Di + (a.G + g) * N, a.Cd, Q, Np, q, N, a.cp16);
    tc_stage(Hs, ldc, a.sloc + ((b * a.nch + c) * a.H + h) * P * N, N, Po, Np, P, N, a.cp16);
    tc_stage(Ms, ldm, a.cb + ((b * a.nch + c) * a.G + g) * Q * Q, Q, Q, Q, q, Q, a.cp16);
    tc_stage(Xs, ldx, a.xbc + r0 * a.Cd + h * P, a.Cd, Q, Po, q, P, a.cp16);
    __pipeline_commit();
    tc_chunk_cumsum(a, r0, h, q, sdt, scs);
    __syncthreads();
    for (int t = threadIdx.x; t < Q; t += kSsdThreads) se[t] = t < q ? expf(scs[t]) : 0.0f;
    __pipeline_wait_prior(0);
    __syncthreads();
    // M[t][j] = (C B^T)[t][j] exp(cs[t] - cs[j]) dt_j for j <= t < q, else 0.
    for (int t = warp; t < Q; t += kTcWarps)
      for (int j = lane; j < Q; j += 32) {
        float* m = Ms + t * ldm + j;
        *m = j <= t && t < q ? __fmul_rn(*m, __fmul_rn(expf(__fsub_rn(scs[t], scs[j])), sdt[j])) : 0.0f;
      }
    __syncthreads();
    const int tp = Po / 16;
    float* st = stg + warp * 256;
    for (int tile = warp; tile < (Q / 16) * tp; tile += kTcWarps) {
      const int i0 = tile / tp * 16, k0 = tile % tp * 16;
      if (i0 >= q) continue;
      // C h_prev^T: h_prev^T (n, p) = Hs[p][n], column-major at Hs + k0 ldc.
      TcC ch, mx;
      wmma::fill_fragment(ch, 0.0f);
      tc_mma<wmma::row_major, wmma::col_major>(ch, Cs + i0 * ldc, ldc, Hs + k0 * ldc, ldc, Np);
      // M x over the columns j < i0 + 16 (M is 0 above its diagonal).
      wmma::fill_fragment(mx, 0.0f);
      tc_mma<wmma::row_major, wmma::row_major>(mx, Ms + i0 * ldm, ldm, Xs + k0, ldx, i0 + 16);
      // y = exp(cs[t]) (C h_prev^T) + M x + D x: this lane's 8 elements of
      // the first product, then of the second, through the warp's tile.
      wmma::store_matrix_sync(st, ch, 16, wmma::mem_row_major);
      __syncwarp();
      float chv[8];
#pragma unroll
      for (int e = 0; e < 8; ++e) chv[e] = st[lane + 32 * e];
      __syncwarp();
      wmma::store_matrix_sync(st, mx, 16, wmma::mem_row_major);
      __syncwarp();
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const int idx = lane + 32 * e, t = i0 + idx / 16, p = k0 + idx % 16;
        if (t < q && p < P)
          a.ys[(r0 + t) * a.Di + h * P + p] =
              __fadd_rn(__fadd_rn(__fmul_rn(chv[e], se[t]), st[idx]), __fmul_rn(Dh, Xs[t * ldx + p]));
      }
      __syncwarp();
    }
    __syncthreads();  // shared memory is free for the next stream
  }
}

// ------------------------------------------------------------------ gated norm

// grid (rows, min(Di / gs, 65535)), block: a multiple of 32 up to 1024.
// Row r, group j (grid-stride over groups):
//   v = ys * silu(z); out = (v * (1 / sqrt(sum(v^2) / gs + eps))) * norm.weight
// out is ys itself (f32) or the out_proj GEMM's input rounded to its dtype
// (OT = bf16 or f16: the rounding in this epilogue instead of a kernel of
// its own). A thread holds its up to kNormPer elements of v in registers
// between the sum and the output; larger groups make v twice.
constexpr int kNormPer = 8;
__device__ __forceinline__ void store_as(float* d, float v) { *d = v; }
__device__ __forceinline__ void store_as(__nv_bfloat16* d, float v) { *d = __float2bfloat16_rn(v); }
__device__ __forceinline__ void store_as(__half* d, float v) { *d = __float2half_rn(v); }

template <typename OT>
__global__ void gated_norm_kernel(const float* ys, const float* __restrict__ proj, const float* __restrict__ nw,
                                  OT* out, int64_t ldo, int64_t Di, int64_t NP, int64_t gs, float eps) {
  __shared__ float part[32];
  __shared__ float inv_s;
  const int64_t r = blockIdx.x, groups = Di / gs;
  const float* yr = ys + r * Di;
  const float* zr = proj + r * NP;
  OT* orow = out + r * ldo;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  const bool in_regs = gs <= int64_t(blockDim.x) * kNormPer;
  for (int64_t j = blockIdx.y; j < groups; j += gridDim.y) {
    const int64_t g0 = j * gs;
    float v[kNormPer];
    float ss = 0.0f;
    if (in_regs) {
#pragma unroll
      for (int k = 0; k < kNormPer; ++k) {
        const int64_t i = threadIdx.x + int64_t(k) * blockDim.x;
        v[k] = i < gs ? __fmul_rn(yr[g0 + i], cuda::siluf_(zr[g0 + i])) : 0.0f;
        ss = __fmaf_rn(v[k], v[k], ss);
      }
    } else {
#pragma unroll 4
      for (int64_t i = threadIdx.x; i < gs; i += blockDim.x) {
        const float u = __fmul_rn(yr[g0 + i], cuda::siluf_(zr[g0 + i]));
        ss = __fmaf_rn(u, u, ss);
      }
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
    if (in_regs) {
#pragma unroll
      for (int k = 0; k < kNormPer; ++k) {
        const int64_t i = threadIdx.x + int64_t(k) * blockDim.x;
        if (i < gs) store_as(orow + g0 + i, __fmul_rn(__fmul_rn(v[k], inv), nw[g0 + i]));
      }
    } else {
#pragma unroll 4
      for (int64_t i = threadIdx.x; i < gs; i += blockDim.x) {
        const float u = __fmul_rn(yr[g0 + i], cuda::siluf_(zr[g0 + i]));
        store_as(orow + g0 + i, __fmul_rn(__fmul_rn(u, inv), nw[g0 + i]));
      }
    }
  }
}

// ------------------------------------------------------------------ the block

class CudaMamba2 final : public Block {
 public:
  CudaMamba2(const Config& c, const BlockInfo&, const WeightSource& w)
      : d_(dims(c)), eps_(float(c.f("norm_eps"))), dt_min_(float(c.f("dt_min"))), dt_max_(float(c.f("dt_max"))),
        has_dt_max_(c.f("dt_max") < kNoUpperLimit), ssd_(c.s("prefill") != "scan"),
        tc_(w.matrix_dtype() != DType::f32) {
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
    if (ssd_) plan_ssd();
  }

  size_t weight_bytes() const override {
    return in_proj_.bytes() + out_proj_.bytes() + in_bias_.bytes() + out_bias_.bytes() + conv_w_.bytes() +
           conv_b_.bytes() + dt_bias_.bytes() + D_.bytes() + norm_w_.bytes() + A_.bytes();
  }

  size_t scratch_bytes(int64_t B, int64_t T) const override {
    const size_t rows = size_t(B * T);
    size_t ssd = 0;
    if (use_ssd(T)) {
      const int64_t nch = (T + ssd_q_ - 1) / ssd_q_;
      ssd = align_up(size_t(B * nch * d_.H * d_.P * d_.N) * 4) + align_up(size_t(B * nch * d_.H) * 4) +
            align_up(size_t(B * nch * d_.G * ssd_q_ * ssd_q_) * 4);
    }
    return align_up(rows * size_t(d_.NP) * 4) + align_up(rows * size_t(d_.Cd) * 4) +
           align_up(rows * size_t(d_.Di) * 4) + ssd +
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
    if (use_ssd(T))
      chunked(ctx, cu, proj, xbc, ys, B, T, st);
    else
      scan(cu, proj, xbc, ys, B, T, st);
    cuda::MatArgs out_args;
    out_args.bias = out_bias_.empty() ? nullptr : out_bias_.data();
    out_args.accumulate = ctx.accumulate;  // a fused residual add
    const int64_t groups = d_.Di / d_.gs;
    // About 4 elements per thread, 32 to 1024 threads.
    const int threads = int(std::clamp<int64_t>((d_.gs / 4 + 31) / 32 * 32, 32, 1024));
    const dim3 grid(unsigned(rows), unsigned(std::min<int64_t>(groups, 65535)));
    if (out_proj_.rounds_input(rows)) {
      // The norm writes out_proj's input in its dtype (apply's scratch).
      void* yh = ctx.ws.alloc<std::byte>(size_t(rows * d_.Di) * 2);
      if (out_proj_.dtype() == DType::bf16)
        gated_norm_kernel<<<grid, threads, 0, cu.stream>>>(ys, proj, norm_w_.data(), static_cast<__nv_bfloat16*>(yh),
                                                          d_.Di, d_.Di, d_.NP, d_.gs, eps_);
      else
        gated_norm_kernel<<<grid, threads, 0, cu.stream>>>(ys, proj, norm_w_.data(), static_cast<__half*>(yh), d_.Di,
                                                          d_.Di, d_.NP, d_.gs, eps_);
      cuda::check_launch("mamba2 gated norm");
      out_proj_.apply_rounded(ctx, rows, yh, d_.Di, y, d_.D, out_args);
    } else {
      gated_norm_kernel<<<grid, threads, 0, cu.stream>>>(ys, proj, norm_w_.data(), ys, d_.Di, d_.Di, d_.NP, d_.gs,
                                                        eps_);
      cuda::check_launch("mamba2 gated norm");
      out_proj_.apply(ctx, rows, ys, d_.Di, y, d_.D, out_args);
    }
  }

 private:
  static constexpr int64_t kSsdMinT = 32;  // shorter forwards take the scan

  bool use_ssd(int64_t T) const { return ssd_q_ > 0 && T >= kSsdMinT; }

  // The SSD chunk length (kSsdQ, halved while the output kernel's shared
  // memory exceeds the device's limit; 0: the scan only) and its kernels'
  // shared memory.
  void plan_ssd() {
    int dev = 0, limit = 0;
    cuda::check(cudaGetDevice(&dev), "cudaGetDevice");
    cuda::check(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev), "shared memory limit");
    const int Np = ssd_np(), Pp = ssd_rows(), Po = ssd_po();
    for (int64_t Q = kSsdQ; Q >= 16; Q /= 2) {
      const size_t out = (tc_ ? tc_output_floats(Q, Np, Po) : ssd_output_floats(Q, Np, Po, int(Q) + 4)) * 4,
                   st = (tc_ ? tc_state_floats(Q, Np, Pp) : ssd_state_floats(Q, Np, Pp)) * 4,
                   cb = (tc_ ? tc_cb_floats(Q, Np) : ssd_cb_floats(Np, int(Q) + 4)) * 4;
      if (std::max({out, st, cb}) <= size_t(limit)) {
        ssd_q_ = Q;
        ssd_out_smem_ = out;
        ssd_state_smem_ = std::max(st, cb);
        using Kernel = void (*)(SsdArgs);
        for (auto [k, bytes] : {std::pair<Kernel, size_t>{output_kernel(), out}, {state_kernel(), std::max(st, cb)}})
          cuda::check(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
                      "mamba2 ssd: shared memory");
        return;
      }
    }
  }

  // The state kernel's blocks per head (two halves of the rows p from
  // P = 32 on: twice the blocks, a better fill of the GPU; the output kernel
  // takes all rows, as its C^T and M would be made twice) and rows per block.
  int ssd_split() const { return d_.P >= 32 ? 2 : 1; }
  // Shared row lengths (SsdArgs): multiples of 4, or of 16 for the tensor cores.
  int ssd_round(int64_t n) const { return tc_ ? tc_round16(n) : int((n + 3) / 4 * 4); }
  int ssd_rows() const { return ssd_round((d_.P + ssd_split() - 1) / ssd_split()); }
  int ssd_np() const { return ssd_round(d_.N); }
  int ssd_po() const { return ssd_round(d_.P); }
  using SsdKernel = void (*)(SsdArgs);
  SsdKernel state_kernel() const { return tc_ ? ssd_state_tc_kernel : ssd_state_kernel; }
  SsdKernel output_kernel() const { return tc_ ? ssd_output_tc_kernel : ssd_output_kernel; }

  HeadArgs head_args(const float* proj, const float* xbc, float* ys, int64_t B, int64_t T,
                     const StateRefs& st) const {
    HeadArgs a{};
    a.B = B;
    a.T = T;
    a.Di = d_.Di;
    a.N = d_.N;
    a.H = d_.H;
    a.P = d_.P;
    a.G = d_.G;
    a.hpg = d_.H / d_.G;
    a.Cd = d_.Cd;
    a.NP = d_.NP;
    a.proj = proj;
    a.xbc = xbc;
    a.dt_bias = dt_bias_.data();
    a.A = A_.data();
    a.Dv = D_.data();
    a.dt_min = dt_min_;
    a.dt_max = dt_max_;
    a.has_dt_max = has_dt_max_;
    a.streams = st.streams;
    a.ssm_off = st.offsets[1];
    a.ys = ys;
    return a;
  }

  void chunked(RunCtx& ctx, const cuda::Ctx& cu, const float* proj, const float* xbc, float* ys, int64_t B, int64_t T,
               const StateRefs& st) const {
    SsdArgs a{};
    static_cast<HeadArgs&>(a) = head_args(proj, xbc, ys, B, T, st);
    a.Q = ssd_q_;
    a.nch = (T + ssd_q_ - 1) / ssd_q_;
    a.Np = ssd_np();
    a.psplit = ssd_split();
    a.Pp = ssd_rows();
    a.Po = ssd_po();
    a.Qp = int(ssd_q_) + 4;
    a.sloc = ctx.ws.alloc<float>(size_t(B * a.nch * d_.H * d_.P * d_.N));
    a.decay = ctx.ws.alloc<float>(size_t(B * a.nch * d_.H));
    a.cb = ctx.ws.alloc<float>(size_t(B * a.nch * d_.G * ssd_q_ * ssd_q_));
    a.vec4 = d_.N % 4 == 0 && d_.P % 4 == 0 && d_.Di % 4 == 0 && cuda::aligned16(a.sloc) && cuda::aligned16(ys);
    a.cp16 = d_.N % 4 == 0 && d_.P % 4 == 0 && d_.Di % 4 == 0 && d_.Cd % 4 == 0 && cuda::aligned16(xbc) &&
             cuda::aligned16(a.sloc) && cuda::aligned16(a.cb);
    SEQC_CHECK(a.nch <= 0x7fffffff && d_.H * a.psplit + d_.G <= 65535,
               "mamba2 ssd: too many chunks or heads for one grid");
    const unsigned bz = unsigned(std::min<int64_t>(B, 65535));
    const unsigned hs = unsigned(d_.H * a.psplit);
    cuda::launch_pdl(cu, state_kernel(), dim3(unsigned(a.nch), hs + unsigned(d_.G), bz), kSsdThreads,
                     ssd_state_smem_, "mamba2 ssd chunk states and C B^T", a);
    cuda::launch_pdl(cu, ssd_pass_kernel, dim3(cuda::grid_for(d_.P * d_.N, 256), unsigned(d_.H), bz), 256, 0,
                     "mamba2 ssd state passing", a);
    cuda::launch_pdl(cu, output_kernel(), dim3(unsigned(a.nch), unsigned(d_.H), bz), kSsdThreads, ssd_out_smem_,
                     "mamba2 ssd outputs", a);
    cuda::check_launch("mamba2 ssd");
  }

  void scan(const cuda::Ctx& cu, const float* proj, const float* xbc, float* ys, int64_t B, int64_t T,
            const StateRefs& st) const {
    const int64_t N = d_.N;
    const int64_t npl = (N + kLanes - 1) / kLanes;
    const bool in_regs = npl <= kMaxNpl;
    ScanArgs a{};
    static_cast<HeadArgs&>(a) = head_args(proj, xbc, ys, B, T, st);
    a.tc = std::clamp<int64_t>(kBufferFloats / buffer_floats(1, N, in_regs), 1, std::min<int64_t>(kMaxChunk, T));
    a.row_blocks = (d_.P + kRowsPerBlock - 1) / kRowsPerBlock;
    // 16-byte copies of B and C: the shared rows (buffer start + t * N) are aligned when N % 4 == 0
    // (buffer_floats), the global ones when N, Di (so Cd and the B / C columns) and xbc are.
    a.vec4 = N % 4 == 0 && d_.Di % 4 == 0 && reinterpret_cast<uintptr_t>(xbc) % 16 == 0;
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
  bool has_dt_max_, ssd_;  // ssd_: prefill "ssd" or "auto"
  bool tc_;  // 2-byte weight matrices: the SSD products on the tensor cores, in TF32
  int64_t ssd_q_ = 0;
  size_t ssd_out_smem_ = 0, ssd_state_smem_ = 0;
  cuda::Matrix in_proj_, out_proj_;
  cuda::DeviceArray in_bias_, out_bias_, conv_w_, conv_b_, dt_bias_, D_, norm_w_, A_;
};

}  // namespace

std::unique_ptr<Block> create_cuda_mamba2(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<CudaMamba2>(c, info, w);
}

}  // namespace seqc
