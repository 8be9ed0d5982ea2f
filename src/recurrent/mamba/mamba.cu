// recurrent/mamba on CUDA: the Mamba-1 mixer of mamba.cpp (same config, same
// weights, same state tensors: `conv [K-1, d_inner]` when d_conv > 1, then
// `ssm [d_inner, d_state]`). One call over B streams of T positions:
//
//   xz  = in_proj(u) (+ in_proj.bias)            GEMM, all B*T rows   [rows, 2 Di]
//   xc  = silu(conv(xz[:, :Di]))                  device causal conv + conv state
//   p   = x_proj(xc)                              GEMM                 [rows, R + 2N]
//   (bcdt_rms: dt_r, B, C each RMS-normalised in place)
//   dtr = dt_proj(p[:, :R])                       GEMM (bias added in the scan)
//   scan: dt = softplus(dtr + dt_bias), h = exp(dt A) h + (dt x) B,
//         y = (h C + D x) * silu(z)               over t, per (stream, channel)
//   out = out_proj(y) (+ out_proj.bias)           GEMM
//
// The elementwise arithmetic follows mamba.cpp operation by operation (no fma
// where the CPU has none: __fmul_rn / __fadd_rn); the contraction over N is
// split over L lanes (L chains in increasing n, then a pairwise tree) where
// the CPU has one chain; exp, softplus and silu come from libdevice (expf,
// log1pf) instead of cpu::vexp, and the GEMMs are cuBLAS's, so results agree
// with the CPU to rounding, not bit for bit. The states themselves take no
// reduction: each is updated exactly as on the CPU, up to exp's rounding.
// A = -exp(A_log) is computed once at load with cpu::vexp (the CPU's bits).
//
// A step of up to 4 streams runs as one persistent kernel (the fused step
// below), with the RMS norm before the mixer absorbed when the graph allows.
// Otherwise, launches per call: in_proj GEMM (+ bias), conv (1, or 2 for long calls),
// x_proj GEMM, (bcdt_rms), dt_proj GEMM, scan, out_proj GEMM (+ bias). A
// step (T = 1) with N <= 64 runs dt_proj and the scan in one kernel, 16 lanes
// per (stream, channel) with the states in registers (mamba_step_kernel:
// 5 launches a layer with the conv and the three GEMVs); calls of 64
// positions or more with N <= 64 scan in parallel over positions (the tiled
// scan); other calls stage chunks of positions through shared memory
// (mamba_scan_kernel), long single-stream ones with N > 64 as segments side
// by side (segmented scan).
#include <algorithm>
#include <memory>
#include <vector>

#include <cuda_pipeline_primitives.h>

#include "core/plugin.hpp"
#include "core/workspace.hpp"
#include "cpu/vmath.hpp"
#include "cuda/cuda_common.cuh"
#include "layers/short_conv/causal_conv.cuh"
#include "layers/short_conv/causal_conv.hpp"

namespace seqc {

namespace {

constexpr int kScanThreads = 128;    // threads per scan block (channels x lanes)
constexpr int64_t kBufferFloats = 2048;  // target floats per staging buffer (two buffers per block)
constexpr int64_t kMaxChunk = 32;        // positions per staged chunk

int64_t dt_rank_of(const Config& c) {
  const int64_t r = c.i("dt_rank");
  return r > 0 ? r : (c.i("d_model") + 15) / 16;
}

// ------------------------------------------------------------------ bcdt_rms

// v *= 1 / sqrt(sumsq(v) / n + eps) for one segment, by the 16 lower lanes
// of a warp in cpu::vsumsq's order (element i into lane i % 16 with one fma
// each, then the pairwise tree), so the scale equals the CPU's for equal
// inputs. All 32 lanes must call it.
__device__ __forceinline__ void rms_segment(float* v, int64_t n, float eps, int lane) {
  float acc = 0.0f;
  if (lane < 16)
    for (int64_t i = lane; i < n; i += 16) acc = __fmaf_rn(v[i], v[i], acc);
  for (int s = 8; s >= 1; s /= 2) acc = __fadd_rn(acc, __shfl_down_sync(0xffffffffu, acc, s, 16));
  const float sum = __shfl_sync(0xffffffffu, acc, 0);
  const float inv = 1.0f / sqrtf(__fadd_rn(sum / float(n), eps));
  for (int64_t i = lane; i < n; i += 32) v[i] = __fmul_rn(v[i], inv);
}

// grid (rows), block 96: warp 0 normalises dt_r [0, R), warp 1 B [R, R+N),
// warp 2 C [R+N, R+2N) of row blockIdx.x of p (row stride ldp).
__global__ void bcdt_rms_kernel(float* __restrict__ p, int64_t ldp, int64_t R, int64_t N, float eps) {
  cuda::pdl_wait();  // see launch_pdl
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* row = p + int64_t(blockIdx.x) * ldp;
  if (warp == 0) rms_segment(row, R, eps, lane);
  if (warp == 1) rms_segment(row + R, N, eps, lane);
  if (warp == 2) rms_segment(row + R + N, N, eps, lane);
}

// ------------------------------------------------------------------ the scan

struct ScanArgs {
  int64_t B, T, Di, N, R, ldp, tc;  // tc: positions per staged chunk
  const float* dtr;   // [rows, Di] dt_proj output, without its bias
  const float* dtb;   // [Di] dt_proj.bias
  const float* xc;    // [rows, Di] silu(conv(x))
  const float* z;     // z of row r at z + r * ldz
  int64_t ldz;
  const float* p;     // [rows, ldp] x_proj output: dt_r, B, C
  const float* A;     // [Di, N] -exp(A_log)
  const float* D;     // [Di]
  std::byte* const* streams;
  size_t ssm_off;     // state ssm [Di, N]
  float* y;           // [rows, Di] gated output; may be dtr (a chunk's dtr is staged before its y is written)
  // Segments of one stream (see the segmented scan below): when set, "stream"
  // b's state is seg_states + b * Di * N instead of the stream's own.
  float* seg_states;
  float* dt_sum;            // pass 1: [B, Di] sum of dt over each segment
  const void* wdt;          // step kernel: dt_proj.weight [Di, R] in the kernel's WT (dt_proj fused)
  const float* carry_local;  // pass 3: the local end states of pass 1 ...
  const float* carry_dt;     // ... and its dt sums: the initial states are carried in
};

// Pass 3 of the segmented scan: segment b's initial state n of channel d,
// carried from the stream's state through the local end states of segments
// 0 .. b-1: h = exp(A sum dt) h + local.
__device__ __forceinline__ float carried_state(const ScanArgs& a, int64_t b, int64_t d, int n, float a_dn) {
  float h = cuda::state_f32(a.streams, 0, a.ssm_off)[d * a.N + n];
  for (int64_t j = 0; j < b; ++j)
    h = fmaf(expf(a_dn * a.carry_dt[j * a.Di + d]), h, a.carry_local[(j * a.Di + d) * a.N + n]);
  return h;
}

using cuda::tree_sum;  // src/cuda/cuda_common.cuh

// Copies tc rows of m floats (row t at src + t * lds) into dst [tc, m] with
// cp.async. Threads are laid out as (row, column) once per call: no division
// per element.
__device__ __forceinline__ void stage_rows(float* dst, const float* src, int64_t lds, int tc, int m) {
  if (m <= kScanThreads) {
    const int per = kScanThreads / m, t0 = threadIdx.x / m, j = threadIdx.x - t0 * m;
    if (t0 < per)
      for (int t = t0; t < tc; t += per) __pipeline_memcpy_async(dst + t * m + j, src + t * lds + j, 4);
  } else {
    for (int t = 0; t < tc; ++t)
      for (int j = threadIdx.x; j < m; j += kScanThreads) __pipeline_memcpy_async(dst + t * m + j, src + t * lds + j, 4);
  }
}

// Floats of one staging buffer: B and C [tc, N] each, then dt, x, g [tc, cpb] each.
__host__ __device__ constexpr int64_t buffer_floats(int64_t tc, int64_t N, int64_t cpb) {
  return 2 * tc * N + 3 * tc * cpb;
}

// grid (ceil(Di / cpb), min(B, 65535)), block kScanThreads = cpb channels x L
// lanes (cpb = kScanThreads / L). Lane l of channel d owns the states
// n = l + L k: in registers (SPL > 0, N <= L * SPL), or in global memory
// (SPL = 0, any N). Per stream the positions are walked in chunks of tc,
// double-buffered: while a chunk is scanned, the next one (B_t and C_t,
// shared by the block's channels, and the channels' raw dt, x and z) is
// copied into shared memory with cp.async. Per position: dt =
// softplus(dt_raw + bias) and silu(z) are made once per (position, channel)
// when the chunk lands; then each lane runs its states through the chunk's
// positions in mamba.cpp's order of operations, leaving its partial sums of
// h C in shared memory, and the block adds the L partial sums per (position,
// channel) afterwards by a pairwise tree (the only place where the order
// differs from the CPU's one chain), so no cross-lane step sits in the
// position-to-position chain.
template <int L, int SPL>
__global__ void __launch_bounds__(kScanThreads) mamba_scan_kernel(ScanArgs a) {
  cuda::pdl_wait();  // see launch_pdl
  constexpr int cpb = kScanThreads / L;
  extern __shared__ float smem[];
  const int N = int(a.N), tcm = int(a.tc);
  const int64_t T = a.T, Di = a.Di;
  const int64_t buf_floats = buffer_floats(tcm, N, cpb);
  float* spart = smem + 2 * buf_floats;  // [tc, kScanThreads] each lane's partial sum of h C
  const int lane = threadIdx.x % L, cl = threadIdx.x / L;
  const int64_t d0 = int64_t(blockIdx.x) * cpb, d = d0 + cl;
  const bool valid = d < Di;
  const int64_t nch = (T + tcm - 1) / tcm;
  const float* Arow = a.A + (valid ? d * N : 0);

  for (int64_t b = blockIdx.y; b < a.B; b += gridDim.y) {
    float* S = (a.seg_states ? a.seg_states + b * Di * N : cuda::state_f32(a.streams, b, a.ssm_off)) +
               (valid ? d * N : 0);
    float hr[SPL > 0 ? SPL : 1], ar[SPL > 0 ? SPL : 1];
    float dsum = 0.0f;  // pass 1: this channel's sum of dt
    if constexpr (SPL > 0) {
#pragma unroll
      for (int k = 0; k < SPL; ++k) {
        const int n = lane + k * L;
        ar[k] = valid && n < N ? Arow[n] : 0.0f;
        hr[k] = valid && n < N ? (a.carry_local ? carried_state(a, b, d, n, ar[k]) : S[n]) : 0.0f;
      }
    } else if (a.carry_local && valid) {
      for (int n = lane; n < N; n += L) S[n] = carried_state(a, b, d, n, Arow[n]);
    }
    // Issues the copies of chunk c into buffer c % 2 (one commit group per chunk).
    auto issue = [&](int64_t c) {
      float* buf = smem + (c & 1) * buf_floats;
      float *sB = buf, *sC = buf + tcm * N, *sdt = buf + 2 * tcm * N, *sx = sdt + tcm * cpb, *sg = sx + tcm * cpb;
      const int64_t t0 = c * tcm, r0 = b * T + t0;
      const int tc = int(min(int64_t(tcm), T - t0));
      stage_rows(sB, a.p + r0 * a.ldp + a.R, a.ldp, tc, N);
      stage_rows(sC, a.p + r0 * a.ldp + a.R + N, a.ldp, tc, N);
      for (int i = threadIdx.x; i < tc * cpb; i += kScanThreads) {
        const int tt = i / cpb, j = i % cpb;
        const int64_t dd = d0 + j, r = r0 + tt;
        if (dd < Di) {
          __pipeline_memcpy_async(sdt + i, a.dtr + r * Di + dd, 4);
          __pipeline_memcpy_async(sx + i, a.xc + r * Di + dd, 4);
          __pipeline_memcpy_async(sg + i, a.z + r * a.ldz + dd, 4);
        } else {
          sdt[i] = sx[i] = sg[i] = 0.0f;
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
      float* buf = smem + (c & 1) * buf_floats;
      const float *sB = buf, *sC = buf + tcm * N;
      float *sdt = buf + 2 * tcm * N, *sx = sdt + tcm * cpb, *sg = sx + tcm * cpb;
      const int64_t t0 = c * tcm;
      const int tc = int(min(int64_t(tcm), T - t0));
      for (int i = threadIdx.x; i < tc * cpb; i += kScanThreads) {
        const int64_t dd = d0 + i % cpb;
        if (dd < Di) {
          sdt[i] = cuda::softplusf_(__fadd_rn(sdt[i], a.dtb[dd]));
          sg[i] = cuda::siluf_(sg[i]);
        }
      }
      __syncthreads();
      if (a.dt_sum && lane == 0 && valid)
        for (int tt = 0; tt < tc; ++tt) dsum += sdt[tt * cpb + cl];
      // The recurrence: only the states carry from one position to the next;
      // each lane's partial sum of h C goes to shared memory.
#pragma unroll 2
      for (int tt = 0; tt < tc; ++tt) {
        const float dt = sdt[tt * cpb + cl], xv = sx[tt * cpb + cl];
        const float* Bs = sB + tt * N;
        const float* Cs = sC + tt * N;
        const float u = __fmul_rn(dt, xv);
        float acc = 0.0f;
        if constexpr (SPL > 0) {
#pragma unroll
          for (int k = 0; k < SPL; ++k) {
            const int n = lane + k * L;
            if (n < N) {
              const float e = expf(__fmul_rn(dt, ar[k]));
              const float decay = __fmul_rn(e, hr[k]);
              const float inp = __fmul_rn(u, Bs[n]);
              hr[k] = __fadd_rn(decay, inp);
              acc = __fadd_rn(acc, __fmul_rn(hr[k], Cs[n]));
            }
          }
        } else if (valid) {
          for (int n = lane; n < N; n += L) {
            const float e = expf(__fmul_rn(dt, Arow[n]));
            const float decay = __fmul_rn(e, S[n]);
            const float inp = __fmul_rn(u, Bs[n]);
            const float hn = __fadd_rn(decay, inp);
            S[n] = hn;
            acc = __fadd_rn(acc, __fmul_rn(hn, Cs[n]));
          }
        }
        spart[tt * kScanThreads + threadIdx.x] = acc;
      }
      __syncthreads();
      // y of (position, channel): the L lanes' sums by a pairwise tree, + D x, times silu(z).
      for (int i = threadIdx.x; i < tc * cpb; i += kScanThreads) {
        const int tt = i / cpb, j = i % cpb;
        const int64_t dd = d0 + j;
        if (dd >= Di) continue;
        const float sum = tree_sum<L>(spart + tt * kScanThreads + j * L);
        const float skip = __fmul_rn(a.D[dd], sx[i]);
        a.y[(b * T + t0 + tt) * Di + dd] = __fmul_rn(__fadd_rn(sum, skip), sg[i]);
      }
      __syncthreads();  // buffer c % 2 is free for chunk c + 2
    }
    if constexpr (SPL > 0) {
      if (valid) {
#pragma unroll
        for (int k = 0; k < SPL; ++k) {
          const int n = lane + k * L;
          if (n < N) S[n] = hr[k];
        }
      }
    }
    if (a.dt_sum && lane == 0 && valid) a.dt_sum[b * Di + d] = dsum;
  }
}

// ------------------------------------------------------------------ one position

// One lane's share of a step's state update for one channel, 16 lanes per
// channel with lane l taking the states n = l + 16 k: h = exp(dt A) h + u B
// (u = dt x) written back to S, and the lane's sum of h C in increasing n,
// with mamba.cpp's operations. SPL > 0: k < SPL, unrolled; SPL = 0: any N.
template <int SPL>
__device__ __forceinline__ float step_lane_states(float dt, float u, const float* Ar, float* S, const float* Bs,
                                                  const float* Cs, int N, int lane) {
  float acc = 0.0f;
  const auto one = [&](int n) {
    const float e = expf(__fmul_rn(dt, Ar[n]));
    const float h = __fadd_rn(__fmul_rn(e, S[n]), __fmul_rn(u, Bs[n]));
    S[n] = h;
    acc = __fadd_rn(acc, __fmul_rn(h, Cs[n]));
  };
  if constexpr (SPL > 0) {
#pragma unroll
    for (int k = 0; k < SPL; ++k)
      if (lane + 16 * k < N) one(lane + 16 * k);
  } else {
    for (int n = lane; n < N; n += 16) one(n);
  }
  return acc;
}

// tree_sum<16> over the 16 lanes of a half warp by shuffles (l[j] += l[j + s]
// for s = 8, 4, 2, 1): lane 0 of the half ends with the sum.
__device__ __forceinline__ float half_warp_tree16(float acc) {
#pragma unroll
  for (int s = 8; s >= 1; s /= 2) acc = __fadd_rn(acc, __shfl_down_sync(0xffffffffu, acc, s, 16));
  return acc;
}

// A step (T = 1) of B streams: 16 lanes per (stream, channel), lane l owning
// the states n = l + 16 k (k < SPL) in registers, so that the state loads and
// stores of a warp are contiguous. No staging: a step reads each input once,
// and the states are the bulk of the bytes. Each lane runs mamba.cpp's order
// of operations per state; the 16 partial sums of h C are added by the same
// pairwise tree as the staged scan (tree_sum<16>), by shuffles.
//
// For a few streams dt_proj is fused in (a.wdt set): the 16 lanes split the
// R inputs of channel d's row of dt_proj.weight (stored as WT) and add their
// partial dot products by butterfly shuffles, so every lane holds dt_raw.
template <int SPL, typename WT>
__global__ void __launch_bounds__(128) mamba_step_kernel(ScanArgs a) {
  cuda::pdl_wait();  // see launch_pdl
  const int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 16;  // (stream, channel)
  const int lane = threadIdx.x % 16;
  const int64_t Di = a.Di;
  const bool valid = i < a.B * Di;
  const int64_t b = valid ? i / Di : 0, d = valid ? i - b * Di : 0;  // row b (T = 1)
  const int N = int(a.N);
  float draw = 0.0f;  // dt_proj row d . dt_r of row b (lanes stride over R)
  if (!a.wdt) {
    draw = a.dtr[b * Di + d];  // dt_proj ran as a GEMM (many streams)
  } else {
    const WT* w = static_cast<const WT*>(a.wdt) + d * a.R;
    const float* pr = a.p + b * a.ldp;
    for (int64_t r = lane; r < a.R; r += 16) draw = fmaf(cuda::to_float(w[r]), pr[r], draw);
#pragma unroll
    for (int s = 8; s >= 1; s /= 2) draw += __shfl_xor_sync(0xffffffffu, draw, s, 16);
  }
  float acc = 0.0f, dt = 0.0f, xv = 0.0f;
  if (valid) {
    dt = cuda::softplusf_(__fadd_rn(draw, a.dtb[d]));
    xv = a.xc[b * Di + d];
    const float u = __fmul_rn(dt, xv);
    const float* Bs = a.p + b * a.ldp + a.R;
    const float* Cs = Bs + N;
    const float* Ar = a.A + d * N;
    float* S = cuda::state_f32(a.streams, b, a.ssm_off) + d * N;
    acc = step_lane_states<SPL>(dt, u, Ar, S, Bs, Cs, N, lane);
  }
  acc = half_warp_tree16(acc);
  if (valid && lane == 0) {
    const float g = cuda::siluf_(a.z[b * a.ldz + d]);
    a.y[b * Di + d] = __fmul_rn(__fadd_rn(acc, __fmul_rn(a.D[d], xv)), g);
  }
}

// ------------------------------------------------------------------ the tiled scan

// Long calls (T >= kTiledMinT) with N <= kTiledMaxN run the recurrence as a parallel
// scan over positions, as mamba_ssm's selective_scan does, rather than one
// sequential chain per (channel, state): the chain is latency-bound and
// Di * N chains cannot fill the GPU.
//
// grid (ceil(Di / kTileChannels), min(B, 65535)), block kTileWarps warps:
// warp w serves channel d = d0 + w / kTileSplit and the states n of its
// part w % kTileSplit (n = part * ns + j, j < ns = ceil(N / kTileSplit)),
// lane i the kTileItems consecutive positions i * kTileItems + k of a tile
// of kTile positions. Per tile the block stages dt = softplus(raw dt + bias),
// x and silu(z) of its channels ([channel][position]; each made once, by
// the thread that loads its position) and B and C ([state][position]) in
// shared memory. Then per state n each lane
//   1. forms its positions' pairs (a_t, b_t) = (exp(dt_t A_n), dt_t x_t B_t[n])
//      and folds them into one (the affine map h -> a h + b of its positions),
//   2. scans the 32 folded maps across the warp by shuffles (Hillis-Steele),
//      which gives its initial state from the channel's carried state,
//   3. runs its positions from there (h = fma(a, h, b)), adding h C into
//      its positions' sums in increasing n (fma).
// The kTileSplit partial sums of a position are added in part order, then
// D x and the gate. The carried state of (d, n) sits in lane j of its part's
// warp between tiles. The results agree with the CPU's one chain per state
// to rounding (about 1e-6 relative), not bit for bit: a lane's initial state
// is a product of decays and a sum of scanned terms, exp is the SFU's
// 2^x (2 ulp, flushing below 2^-126: such decays are 0), the chains use fma
// where the CPU rounds twice, and the sum over n is split in kTileSplit
// parts. Positions past T are identity maps (dt = 0, so a = 1 and b = 0).
constexpr int kTileWarps = 8;
constexpr int kTileSplit = 2;                         // warps (state parts) per channel
constexpr int kTileChannels = kTileWarps / kTileSplit;  // channels per block
constexpr int kTileItems = 8;
constexpr int kTile = 32 * kTileItems;
constexpr int kTileLd = kTile + 4;  // padded row: conflict-free transposing stores, 16-byte aligned rows
constexpr int64_t kTiledMinT = 64;
constexpr int kTiledMaxN = 32 * kTileSplit;

// Shared memory: dt (then y), x, silu(z) per channel; the parts' partial
// sums; B and C per state.
__host__ __device__ constexpr size_t tiled_smem_bytes(int64_t N) {
  return size_t(3 * kTileChannels + (kTileSplit - 1) * kTileChannels + 2 * N) * kTileLd * sizeof(float);
}

// 2^x by the SFU alone (ex2.approx.ftz: 2 ulp; results below 2^-126 are 0).
__device__ __forceinline__ float ex2_ftz(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Loads kTileItems consecutive floats (16-byte aligned) from shared memory.
__device__ __forceinline__ void load_items(const float* src, float (&v)[kTileItems]) {
#pragma unroll
  for (int k = 0; k < kTileItems; k += 4) {
    const float4 q = cuda::ld4(src + k);
    v[k] = q.x;
    v[k + 1] = q.y;
    v[k + 2] = q.z;
    v[k + 3] = q.w;
  }
}

__device__ __forceinline__ void store_items(float* dst, const float (&v)[kTileItems]) {
#pragma unroll
  for (int k = 0; k < kTileItems; k += 4)
    *reinterpret_cast<float4*>(dst + k) = make_float4(v[k], v[k + 1], v[k + 2], v[k + 3]);
}

// Stages one tile's per-channel inputs: thread t takes position t, the
// block's kTileChannels channels in one piece (V = 4: 16-byte loads, else
// one float at a time), and leaves dt = softplus(raw dt + bias), x and
// silu(z) in [channel][position]. Positions past tc and channels past Di
// are zeros, so they are identity maps (dt = 0).
template <int V>
__device__ __forceinline__ void stage_channels(const ScanArgs& a, float* sdt, float* sx, float* sz, int64_t d0,
                                               int64_t r0, int tc) {
  static_assert(kTile == kTileWarps * 32 && kTileChannels == 4);
  const int tt = threadIdx.x;
  const int64_t r = r0 + tt;
  float raw[4] = {}, xv[4] = {}, zv[4] = {};
  if (tt < tc) {
    if (V == 4 && d0 + 4 <= a.Di) {
      const float4 q0 = *reinterpret_cast<const float4*>(a.dtr + r * a.Di + d0);
      const float4 q1 = *reinterpret_cast<const float4*>(a.xc + r * a.Di + d0);
      const float4 q2 = *reinterpret_cast<const float4*>(a.z + r * a.ldz + d0);
      raw[0] = q0.x, raw[1] = q0.y, raw[2] = q0.z, raw[3] = q0.w;
      xv[0] = q1.x, xv[1] = q1.y, xv[2] = q1.z, xv[3] = q1.w;
      zv[0] = q2.x, zv[1] = q2.y, zv[2] = q2.z, zv[3] = q2.w;
    } else {
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        if (d0 + c < a.Di) {
          raw[c] = a.dtr[r * a.Di + d0 + c];
          xv[c] = a.xc[r * a.Di + d0 + c];
          zv[c] = a.z[r * a.ldz + d0 + c];
        }
      }
    }
  }
#pragma unroll
  for (int c = 0; c < 4; ++c) {
    const bool ok = tt < tc && d0 + c < a.Di;
    sdt[c * kTileLd + tt] = ok ? cuda::softplusf_(__fadd_rn(raw[c], a.dtb[d0 + c])) : 0.0f;
    sx[c * kTileLd + tt] = xv[c];
    sz[c * kTileLd + tt] = ok ? cuda::siluf_(zv[c]) : 0.0f;
  }
}

// Stages one tile's B and C into [state][position]: pieces of V states of
// a row (V = 4: 16-byte loads), threads laid out as (position, piece) once.
template <int V>
__device__ __forceinline__ void stage_bc(const ScanArgs& a, float* sB, float* sC, int64_t r0, int tc) {
  const int N = int(a.N), pieces = N / V, rows = kTileWarps * 32 / pieces;  // rows per pass
  const int j = threadIdx.x;
  if (j >= rows * pieces) return;
  const int n = (j % pieces) * V;
#pragma unroll 4
  for (int tt = j / pieces; tt < kTile; tt += rows) {
    float vb[V] = {}, vc[V] = {};
    if (tt < tc) {
      const float* row = a.p + (r0 + tt) * a.ldp + a.R + n;
      if constexpr (V == 4) {
        const float4 qb = *reinterpret_cast<const float4*>(row);
        const float4 qc = *reinterpret_cast<const float4*>(row + N);
        vb[0] = qb.x, vb[1] = qb.y, vb[2] = qb.z, vb[3] = qb.w;
        vc[0] = qc.x, vc[1] = qc.y, vc[2] = qc.z, vc[3] = qc.w;
      } else {
        vb[0] = row[0];
        vc[0] = row[N];
      }
    }
#pragma unroll
    for (int e = 0; e < V; ++e) {
      sB[(n + e) * kTileLd + tt] = vb[e];
      sC[(n + e) * kTileLd + tt] = vc[e];
    }
  }
}

// V = 4 when the channels' and B/C's rows allow 16-byte loads (see
// tiled_vec), else 1.
template <int V>
__global__ void __launch_bounds__(kTileWarps * 32) mamba_tiled_scan_kernel(ScanArgs a) {
  cuda::pdl_wait();  // see launch_pdl
  extern __shared__ __align__(16) float smem[];
  float* sdt = smem;                                    // [channel][kTileLd] dt, then the gated output y
  float* sx = sdt + kTileChannels * kTileLd;            // [channel][kTileLd] x
  float* sz = sx + kTileChannels * kTileLd;             // [channel][kTileLd] silu(z)
  float* spart = sz + kTileChannels * kTileLd;          // [channel][part - 1][kTileLd] partial sums of h C
  float* sB = spart + (kTileSplit - 1) * kTileChannels * kTileLd;  // [n][kTileLd] B
  float* sC = sB + a.N * kTileLd;                       // [n][kTileLd] C
  const int N = int(a.N), w = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int c = w / kTileSplit, part = w % kTileSplit;
  const int ns = (N + kTileSplit - 1) / kTileSplit, n0 = part * ns, n1 = min(N, n0 + ns);
  const int64_t T = a.T, Di = a.Di, d0 = int64_t(blockIdx.x) * kTileChannels, d = d0 + c;
  const bool valid = d < Di;
  const float Dd = valid ? a.D[d] : 0.0f;
  // A_n log2(e) of this warp's state n0 + lane: exp(dt A) = 2^(dt A log2 e)
  const float a2 = valid && n0 + lane < n1 ? __fmul_rn(a.A[d * N + n0 + lane], 1.4426950408889634f) : 0.0f;
  const int p0 = lane * kTileItems;  // this lane's first position in a tile

  for (int64_t b = blockIdx.y; b < a.B; b += gridDim.y) {
    float* S = cuda::state_f32(a.streams, b, a.ssm_off) + (valid ? d * N : 0);
    float carry = valid && n0 + lane < n1 ? S[n0 + lane] : 0.0f;  // state n0 + lane of channel d
    for (int64_t t0 = 0; t0 < T; t0 += kTile) {
      const int tc = int(min(int64_t(kTile), T - t0));
      const int64_t r0 = b * T + t0;
      stage_channels<V>(a, sdt, sx, sz, d0, r0, tc);
      stage_bc<V>(a, sB, sC, r0, tc);
      __syncthreads();
      float acc[kTileItems];
      if (valid) {
        float dt[kTileItems], u[kTileItems], dsum = 0.0f;  // dsum: dt over the lane's positions
        load_items(sdt + c * kTileLd + p0, dt);
        load_items(sx + c * kTileLd + p0, u);
#pragma unroll
        for (int k = 0; k < kTileItems; ++k) {
          u[k] = __fmul_rn(dt[k], u[k]);
          dsum = __fadd_rn(dsum, dt[k]);
          acc[k] = 0.0f;
        }
#pragma unroll 1
        for (int n = n0; n < n1; ++n) {
          const float an = __shfl_sync(0xffffffffu, a2, n - n0);
          float v[kTileItems], e[kTileItems], in[kTileItems];
          load_items(sB + n * kTileLd + p0, v);
          // This lane's positions folded: h -> fa h + fb, fa = 2^(an sum dt).
          float fa = ex2_ftz(__fmul_rn(dsum, an)), fb = 0.0f;
#pragma unroll
          for (int k = 0; k < kTileItems; ++k) {
            e[k] = ex2_ftz(__fmul_rn(dt[k], an));
            in[k] = __fmul_rn(u[k], v[k]);
            fb = fmaf(e[k], fb, in[k]);
          }
          // Inclusive scan of the maps over lanes: lane i gets lanes 0..i composed.
#pragma unroll
          for (int s = 1; s < 32; s *= 2) {
            const float pa = __shfl_up_sync(0xffffffffu, fa, s), pb = __shfl_up_sync(0xffffffffu, fb, s);
            if (lane >= s) {
              fb = fmaf(fa, pb, fb);
              fa = __fmul_rn(fa, pa);
            }
          }
          const float h0 = __shfl_sync(0xffffffffu, carry, n - n0);
          const float ta = __shfl_sync(0xffffffffu, fa, 31), tb = __shfl_sync(0xffffffffu, fb, 31);
          const float ea = __shfl_up_sync(0xffffffffu, fa, 1), eb = __shfl_up_sync(0xffffffffu, fb, 1);
          float h = lane == 0 ? h0 : fmaf(ea, h0, eb);  // the state before this lane's first position
          if (lane == n - n0) carry = fmaf(ta, h0, tb);
          load_items(sC + n * kTileLd + p0, v);
#pragma unroll
          for (int k = 0; k < kTileItems; ++k) {
            h = fmaf(e[k], h, in[k]);
            acc[k] = fmaf(h, v[k], acc[k]);
          }
        }
        if (part > 0) store_items(spart + ((part - 1) * kTileChannels + c) * kTileLd + p0, acc);
      }
      __syncthreads();
      if (valid && part == 0) {
        // The parts' sums in order, D x and the gate; y replaces raw dt.
        float xv[kTileItems], g[kTileItems];
        for (int q = 1; q < kTileSplit; ++q) {
          load_items(spart + ((q - 1) * kTileChannels + c) * kTileLd + p0, xv);
#pragma unroll
          for (int k = 0; k < kTileItems; ++k) acc[k] = __fadd_rn(acc[k], xv[k]);
        }
        load_items(sx + c * kTileLd + p0, xv);
        load_items(sz + c * kTileLd + p0, g);
#pragma unroll
        for (int k = 0; k < kTileItems; ++k)
          acc[k] = __fmul_rn(__fadd_rn(acc[k], __fmul_rn(Dd, xv[k])), g[k]);
        store_items(sdt + c * kTileLd + p0, acc);
      }
      __syncthreads();
      if (const int tt = threadIdx.x; tt < tc) {  // position tt's channels in one piece
        float* yr = a.y + (r0 + tt) * Di + d0;
        if (V == 4 && d0 + 4 <= Di) {
          *reinterpret_cast<float4*>(yr) =
              make_float4(sdt[tt], sdt[kTileLd + tt], sdt[2 * kTileLd + tt], sdt[3 * kTileLd + tt]);
        } else {
          for (int cc = 0; cc < kTileChannels && d0 + cc < Di; ++cc) yr[cc] = sdt[cc * kTileLd + tt];
        }
      }
      __syncthreads();  // the tile's shared memory is free for the next one
    }
    if (valid && n0 + lane < n1) S[n0 + lane] = carry;
  }
}

// ------------------------------------------------------------------ segmented scan

// A long call of one stream (B = 1, T = S * Ts) is latency-bound on the
// sequential scan: Di * N states give too few threads to fill the GPU. The
// segmented scan runs the S segments side by side as if they were streams:
//   1. each segment from a zero state (its y discarded), giving its local end
//      state e_s, and sdt_s = sum over the segment of dt per channel;
//   2. each segment again from its true initial state, writing y: segment
//      s's block first carries h_0 = the stream's state through
//      h_{j+1} = exp(A sdt_j) h_j + e_j for j < s (a segment's decays
//      multiply to exp(A sum dt): a sum of dt, so the rounding differs from
//      the product of the per-position exp); the last segment's end state
//      becomes the stream's new state.

// The last segment's end state becomes the stream's.
__global__ void seg_store_kernel(const float* __restrict__ last, std::byte* const* streams, size_t ssm_off,
                                 int64_t n) {
  cuda::pdl_wait();  // see launch_pdl
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) cuda::state_f32(streams, 0, ssm_off)[i] = last[i];
}

constexpr int64_t kSegLen = 64;    // positions per segment
constexpr int64_t kMinSegments = 4;

// ------------------------------------------------------------------ the fused step

// A step of at most kFusedMaxRows streams as ONE persistent kernel
// (launch_persistent: one block per SM, all resident) instead of five
// launches (in_proj, conv, x_proj, step, out_proj) and the norm before them.
// A batch-1 step reads each weight once and is otherwise a chain of small
// dependent products; launches, not bytes, set its time. Block g of G owns
// the channels [g Di / G, (g + 1) Di / G) and the outputs [g Dm / G, ...):
//
//   before pdl_wait (the previous layer's kernel is still running, on the
//     same SMs, with two blocks per SM; weights do not depend on
//     it): copy the block's weight rows and parameters into
//     shared memory with cp.async (or, when the rows do not fit, ask L2 for
//     them), read the stream bases, ask L2 for the block's states;
//   pdl_wait, then pdl_trigger: the next layer's kernel may start staging;
//   phase A: the input rows (RMS-normalised here when the graph absorbed the
//     norm: every block computes the row's scale itself), the block's rows
//     of in_proj (x and z of its channels), the conv and silu of its
//     channels, and its part of x_proj: the products over its channels only,
//     written to partials [G, rows, P];
//   barrier;
//   phase B: x_proj's output, the partials added in block order (the same
//     order in every block, so every block holds the same bits), bcdt_rms,
//     then dt_proj, softplus, the state update, D x and the gate of the
//     block's channels, as mamba_step_kernel computes them; y to ybuf;
//   barrier;
//   phase C: the block's rows of out_proj over all of y, + bias, written
//     or added to the output.
//
// Numerics: as the separate kernels, except the order of the sums of the
// products (in_proj, out_proj: lanes then a butterfly; x_proj: per block,
// then over blocks), and the norm's sum of squares; within 2e-5 of the CPU.
// Compiled with -DSEQC_FUSED_TRACE, blocks 0 and G-1 print the SM cycles of
// each phase for one launch in 200 (docs/cuda.md has a breakdown).
constexpr int kFusedThreads = 512;
constexpr int kFusedWarps = kFusedThreads / 32;
constexpr int kFusedMaxRows = 4;
// Blocks per SM a kernel instance is built for (BPS). Two blocks fit on an
// SM at 64 registers a thread and at most 112 KiB of shared memory each, so
// the next layer's kernel is resident beside this one and stages its
// weights while this one computes: each launch lets the next one start
// (pdl_trigger) as soon as its own wait is over. With 2-byte weights whose
// rows fit in 112 KiB (Mamba-130m: 57 KiB) that is the fastest. When the
// rows need up to 200 KiB (f32 weights of Mamba-130m: about 150 KiB; bf16
// rows from d_model 1024) the kernel runs one block per SM with them
// staged; larger rows are read through L2 at two blocks per SM (2-byte) or
// one (f32).
constexpr size_t fused_smem_max(int bps) {  // shared memory the fused step may take per block
  return bps == 2 ? 112 * 1024 : 200 * 1024;
}

struct FusedArgs {
  int B, Dm, Di, N, R, P, K;
  const float* x;           // [B, Dm]
  const float* norm_scale;  // [Dm] absorbed RMS norm, or nullptr
  float norm_eps;
  float* y;  // [B, Dm]; may be x (accumulate)
  bool accumulate;
  const void* win;    // [2 Di, Dm] WT
  const float* bin;   // [2 Di] or nullptr
  const float* conv_w;  // [K, Di]
  const float* conv_b;  // [Di] or nullptr
  const void* wxpT;   // [Di, P] WT: x_proj.weight transposed
  const void* wdt;    // [Di, R] WT
  const float *dtb, *A, *D;
  const void* wout;   // [Dm, Di] WT
  const float* bout;  // [Dm] or nullptr
  bool bcdt;
  float bcdt_eps;
  std::byte* const* streams;
  size_t conv_off, ssm_off;
  float* partials;  // [G, kFusedMaxRows, P]
  float* ybuf;      // [B, Di]
  unsigned long long* barrier;
  bool staged;  // the block's weight rows are copied to shared memory first
};

__host__ __device__ constexpr int64_t fused_cmax(int64_t Di, int64_t G) { return (Di + G - 1) / G; }
__host__ __device__ constexpr int64_t fused_width(int64_t Dm, int64_t Di) { return Dm > Di ? Dm : Di; }

// Shared memory: the input rows, later y [MR, max(Dm, Di)]; x | z of the
// block's channels [MR, 2 cmax]; silu(conv) [MR, cmax]; x_proj's output
// [MR, P]; kFusedThreads floats of reduction scratch; the block's share of
// the f32 parameters (fused_params). Then, when the block's weight rows fit
// (staged), the rows themselves in the stored dtype: in_proj [2 cmax, Dm],
// out_proj [omax, Di], x_proj transposed [cmax, P], dt_proj [cmax, R].
struct FusedDims {
  int64_t Dm, Di, P, R, N, K, G;
};
struct FusedSmem {
  size_t floats, params, win, wout, wxp, wdt, total;
};
__host__ __device__ inline size_t align16_(size_t n) { return (n + 15) / 16 * 16; }
// Parameter floats of a block: conv taps [K, cmax], conv bias, dt bias
// [cmax], A [cmax, N], D [cmax], in_proj bias [2 cmax], out_proj bias
// [omax], the absorbed norm's scale [Dm].
__host__ __device__ inline int64_t fused_param_floats(const FusedDims& d) {
  const int64_t cmax = fused_cmax(d.Di, d.G), omax = fused_cmax(d.Dm, d.G);
  return cmax * (d.K + 2 + d.N + 1 + 2) + omax + d.Dm;
}
__host__ __device__ inline FusedSmem fused_smem(const FusedDims& d, int MR, size_t es, bool staged) {
  const int64_t w = (fused_width(d.Dm, d.Di) + 3) / 4 * 4, cmax = fused_cmax(d.Di, d.G), omax = fused_cmax(d.Dm, d.G);
  FusedSmem s{};
  s.floats = align16_(size_t(MR * w + MR * 3 * cmax + MR * d.P + kFusedThreads) * sizeof(float));
  s.params = align16_(size_t(fused_param_floats(d)) * sizeof(float));
  s.win = staged ? align16_(size_t(2 * cmax * d.Dm) * es) : 0;
  s.wout = staged ? align16_(size_t(omax * d.Di) * es) : 0;
  s.wxp = staged ? align16_(size_t(cmax * d.P) * es) : 0;
  s.wdt = staged ? align16_(size_t(cmax * d.R) * es) : 0;
  s.total = s.floats + s.params + s.win + s.wout + s.wxp + s.wdt;
  return s;
}

// n floats from global src to shared dst (4-byte cp.async), or zeros when
// src is null.
__device__ __forceinline__ void stage_floats(float* dst, const float* src, int64_t n) {
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    if (src)
      __pipeline_memcpy_async(dst + i, src + i, 4);
    else
      dst[i] = 0.0f;
  }
}

// Copies `bytes` (a multiple of 2) from global src to shared dst by the
// block: cp.async of 16 bytes where both ends allow it, else 2 bytes at a
// time with plain loads. The caller commits and waits (cp.async).
__device__ __forceinline__ void stage_bytes(void* dst, const void* src, size_t bytes) {
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  if (cuda::aligned16(d) && cuda::aligned16(s) && bytes % 16 == 0) {
    for (size_t o = size_t(threadIdx.x) * 16; o < bytes; o += size_t(blockDim.x) * 16) __pipeline_memcpy_async(d + o, s + o, 16);
  } else {
    for (size_t o = size_t(threadIdx.x) * 2; o < bytes; o += size_t(blockDim.x) * 2)
      *reinterpret_cast<uint16_t*>(d + o) = *reinterpret_cast<const uint16_t*>(s + o);
  }
}

// The dot products of one weight row (K values of WT, in global or shared
// memory, 16-byte aligned when VEC) with MR rows of xs (row stride ldx, in shared memory), by one warp:
// lane 0 ends with the sums.
template <typename WT, int MR, bool VEC>
__device__ __forceinline__ void warp_dots(const WT* __restrict__ w, int K, const float* xs, int ldx, int rows,
                                          int lane, float (&acc)[MR]) {
#pragma unroll
  for (int m = 0; m < MR; ++m) acc[m] = 0.0f;
  if constexpr (VEC) {
    constexpr int V = cuda::Vec16<WT>::n;
#pragma unroll 4
    for (int k = lane * V; k < K; k += 32 * V) {
      float wv[V];
      cuda::Vec16<WT>::load_any(w + k, wv);
#pragma unroll
      for (int m = 0; m < MR; ++m) {
        if (m < rows) {
#pragma unroll
          for (int j = 0; j < V; j += 4) {
            const float4 xv = cuda::ld4(xs + m * ldx + k + j);
            acc[m] = fmaf(wv[j], xv.x, acc[m]);
            acc[m] = fmaf(wv[j + 1], xv.y, acc[m]);
            acc[m] = fmaf(wv[j + 2], xv.z, acc[m]);
            acc[m] = fmaf(wv[j + 3], xv.w, acc[m]);
          }
        }
      }
    }
  } else {
    for (int k = lane; k < K; k += 32) {
      const float wv = cuda::to_float(w[k]);
#pragma unroll
      for (int m = 0; m < MR; ++m)
        if (m < rows) acc[m] = fmaf(wv, xs[m * ldx + k], acc[m]);
    }
  }
#pragma unroll
  for (int m = 0; m < MR; ++m)
#pragma unroll
    for (int s = 16; s >= 1; s /= 2) acc[m] += __shfl_xor_sync(0xffffffffu, acc[m], s);
}

#ifdef SEQC_FUSED_TRACE  // phase timings of one launch in 200 (printf, blocks 0 and G-1)
#define TRACE_INIT() long long tr_[16]; int tn_ = 0; tr_[tn_++] = clock64()
#define TRACE() do { __syncthreads(); if (tn_ < 16) tr_[tn_++] = clock64(); } while (0)
#define TRACE_END()                                                                                   \
  do {                                                                                                \
    TRACE();                                                                                          \
    const unsigned long long L_ = *(volatile unsigned long long*)a.barrier / (2ull * gridDim.x);      \
    if (threadIdx.x == 0 && (blockIdx.x == 0 || blockIdx.x == gridDim.x - 1) && L_ % 200 == 100)      \
      printf("fused g=%d L=%llu: %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld total %lld\n", int(blockIdx.x), L_, \
             tr_[1] - tr_[0], tr_[2] - tr_[1], tr_[3] - tr_[2], tr_[4] - tr_[3], tr_[5] - tr_[4], tr_[6] - tr_[5], \
             tr_[7] - tr_[6], tr_[8] - tr_[7], tr_[9] - tr_[8], tr_[10] - tr_[9], tr_[10] - tr_[0]); \
  } while (0)
#else
#define TRACE_INIT() do {} while (0)
#define TRACE() do {} while (0)
#define TRACE_END() do {} while (0)
#endif

template <typename WT, int MR, bool VEC, int BPS>
__global__ void __launch_bounds__(kFusedThreads, BPS) mamba_fused_step_kernel(FusedArgs a) {
  TRACE_INIT();
  extern __shared__ float sm[];
  const int G = int(gridDim.x), g = int(blockIdx.x), tid = int(threadIdx.x);
  const int lane = tid % 32, warp = tid / 32;
  const int Dm = a.Dm, Di = a.Di, N = a.N, R = a.R, P = a.P, K = a.K, B = a.B;
  const int c0 = int(int64_t(g) * Di / G), nc = int(int64_t(g + 1) * Di / G) - c0;
  const int o0 = int(int64_t(g) * Dm / G), no = int(int64_t(g + 1) * Dm / G) - o0;
  const int cmax = int(fused_cmax(Di, G)), omax = int(fused_cmax(Dm, G));
  const int ldx = int((fused_width(Dm, Di) + 3) / 4 * 4);
  constexpr size_t es = sizeof(WT);
  const FusedSmem L = fused_smem(FusedDims{Dm, Di, P, R, N, K, G}, MR, es, a.staged);
  float* xs = sm;                     // [MR, ldx] input rows, then y
  float* xzs = xs + MR * ldx;         // [MR, 2 cmax]: x of the block's channels, then z
  float* xcs = xzs + MR * 2 * cmax;   // [MR, cmax]
  float* ps = xcs + MR * cmax;        // [MR, P] (row m at m * P)
  float* red = ps + MR * P;           // [kFusedThreads]
  // The block's weight rows: in shared memory when staged, else in place.
  const WT* win = static_cast<const WT*>(a.win);
  const WT* wxp = static_cast<const WT*>(a.wxpT) + int64_t(c0) * P;
  const WT* wdt = static_cast<const WT*>(a.wdt) + int64_t(c0) * R;
  const WT* wout = static_cast<const WT*>(a.wout) + int64_t(o0) * Di;
  const WT* win_x = win + int64_t(c0) * Dm;       // rows of x
  const WT* win_z = win + int64_t(Di + c0) * Dm;  // rows of z
  // The block's parameters, staged while the previous kernel finishes.
  float* pcw = reinterpret_cast<float*>(reinterpret_cast<char*>(sm) + L.floats);  // conv taps [K, cmax]
  float* pcb = pcw + K * cmax;       // conv bias
  float* pdtb = pcb + cmax;          // dt bias
  float* pA = pdtb + cmax;           // A [cmax, N]
  float* pD = pA + cmax * N;         // D
  float* pbin = pD + cmax;           // in_proj bias: x [cmax], z [cmax]
  float* pbout = pbin + 2 * cmax;    // out_proj bias [omax]
  float* pns = pbout + omax;         // norm scale [Dm]
  for (int j = 0; j < K; ++j) stage_floats(pcw + j * cmax, a.conv_w + int64_t(j) * Di + c0, nc);
  stage_floats(pcb, a.conv_b ? a.conv_b + c0 : nullptr, nc);
  stage_floats(pdtb, a.dtb + c0, nc);
  stage_floats(pA, a.A + int64_t(c0) * N, int64_t(nc) * N);
  stage_floats(pD, a.D + c0, nc);
  stage_floats(pbin, a.bin ? a.bin + c0 : nullptr, nc);
  stage_floats(pbin + cmax, a.bin ? a.bin + Di + c0 : nullptr, nc);
  stage_floats(pbout, a.bout ? a.bout + o0 : nullptr, no);
  if (a.norm_scale) stage_floats(pns, a.norm_scale, Dm);
  if (a.staged) {
    char* base = reinterpret_cast<char*>(sm) + L.floats + L.params;
    WT* s_in = reinterpret_cast<WT*>(base);
    WT* s_out = reinterpret_cast<WT*>(base + L.win);
    WT* s_xp = reinterpret_cast<WT*>(base + L.win + L.wout);
    WT* s_dt = reinterpret_cast<WT*>(base + L.win + L.wout + L.wxp);
    stage_bytes(s_in, win_x, size_t(nc) * Dm * es);
    stage_bytes(s_in + int64_t(nc) * Dm, win_z, size_t(nc) * Dm * es);
    stage_bytes(s_out, wout, size_t(no) * Di * es);
    stage_bytes(s_xp, wxp, size_t(nc) * P * es);
    stage_bytes(s_dt, wdt, size_t(nc) * R * es);
    win_x = s_in;
    win_z = s_in + int64_t(nc) * Dm;
    wout = s_out;
    wxp = s_xp;
    wdt = s_dt;
  } else {
    cuda::prefetch_l2(win_x, size_t(nc) * Dm * es);
    cuda::prefetch_l2(win_z, size_t(nc) * Dm * es);
    cuda::prefetch_l2(wxp, size_t(nc) * P * es);
    cuda::prefetch_l2(wdt, size_t(nc) * R * es);
    cuda::prefetch_l2(wout, size_t(no) * Di * es);
  }
  __pipeline_commit();
  // The stream bases (copied in before the first kernel of the call), and
  // the states of the block's channels into L2 (a hint: the loads after
  // pdl_wait read whatever the state is then).
  __shared__ std::byte* sbase[kFusedMaxRows];
  if (tid < B) sbase[tid] = a.streams[tid];
  __syncthreads();
  for (int m = 0; m < B; ++m) {
    cuda::prefetch_l2(cuda::state_f32(sbase, m, a.ssm_off) + int64_t(c0) * N, size_t(nc) * N * 4);
    if (K > 1 && tid < K - 1)
      cuda::prefetch_l2(cuda::state_f32(sbase, m, a.conv_off) + int64_t(tid) * Di + c0, size_t(nc) * 4);
  }
  cuda::pdl_wait();  // see launch_pdl
  // The next launch may start now: it stages its weights beside this block
  // (BPS 2) and waits for this whole grid before reading
  // anything this launch writes.
  cuda::pdl_trigger();
  TRACE();

  // ---- phase A: input rows (normalised), in_proj rows, conv, x_proj parts.
  {
    float ss[MR];
#pragma unroll
    for (int m = 0; m < MR; ++m) ss[m] = 0.0f;
    for (int k = tid; k < Dm; k += kFusedThreads)
#pragma unroll
      for (int m = 0; m < MR; ++m)
        if (m < B) {
          const float v = a.x[int64_t(m) * Dm + k];
          xs[m * ldx + k] = v;
          ss[m] = fmaf(v, v, ss[m]);
        }
    if (a.norm_scale) {
#pragma unroll
      for (int m = 0; m < MR; ++m) {
#pragma unroll
        for (int s = 16; s >= 1; s /= 2) ss[m] += __shfl_xor_sync(0xffffffffu, ss[m], s);
        if (lane == 0) red[warp * MR + m] = ss[m];
      }
      __syncthreads();
#pragma unroll
      for (int m = 0; m < MR; ++m) {
        float t = 0.0f;
        for (int w = 0; w < kFusedWarps; ++w) t += red[w * MR + m];
        ss[m] = 1.0f / sqrtf(t / float(Dm) + a.norm_eps);  // the row's inverse rms
      }
      __pipeline_wait_prior(0);  // pns (each thread waits for its own copies)
      for (int k = tid; k < Dm; k += kFusedThreads)
#pragma unroll
        for (int m = 0; m < MR; ++m)
          if (m < B) xs[m * ldx + k] = __fmul_rn(__fmul_rn(xs[m * ldx + k], ss[m]), pns[k]);
    }
  }
  TRACE();
  __pipeline_wait_prior(0);  // the staged parameters and weights
  __syncthreads();
  TRACE();
  for (int i = warp; i < 2 * nc; i += kFusedWarps) {
    float acc[MR];
    warp_dots<WT, MR, VEC>(i < nc ? win_x + int64_t(i) * Dm : win_z + int64_t(i - nc) * Dm, Dm, xs, ldx, B, lane,
                           acc);
    if (lane == 0) {
      const float b = i < nc ? pbin[i] : pbin[cmax + i - nc];
#pragma unroll
      for (int m = 0; m < MR; ++m)
        if (m < B) xzs[m * 2 * cmax + i] = acc[m] + b;
    }
  }
  __syncthreads();
  TRACE();
  // The causal conv (as cuda::causal_conv: from the bias, oldest tap first,
  // no fma) and silu, per (row, channel); the conv state shifts by one.
  for (int t = tid; t < B * nc; t += kFusedThreads) {
    const int m = t / nc, i = t - m * nc, c = c0 + i;
    const float xn = xzs[m * 2 * cmax + i];
    float v = pcb[i];
    if (K > 1) {
      float* st = cuda::state_f32(sbase, m, a.conv_off) + c;
      for (int j = 0; j < K - 1; ++j) v = __fadd_rn(v, __fmul_rn(pcw[j * cmax + i], st[int64_t(j) * Di]));
      for (int j = 0; j + 1 < K - 1; ++j) st[int64_t(j) * Di] = st[int64_t(j + 1) * Di];
      st[int64_t(K - 2) * Di] = xn;
    }
    v = __fadd_rn(v, __fmul_rn(pcw[(K - 1) * cmax + i], xn));
    xcs[m * cmax + i] = cuda::siluf_(v);
  }
  __syncthreads();
  for (int t = tid; t < B * P; t += kFusedThreads) {
    const int m = t / P, j = t - m * P;
    float s = 0.0f;
    for (int i = 0; i < nc; ++i) s = fmaf(cuda::to_float(wxp[int64_t(i) * P + j]), xcs[m * cmax + i], s);
    a.partials[(int64_t(g) * kFusedMaxRows + m) * P + j] = s;
  }
  TRACE();
  cuda::grid_barrier(a.barrier);
  TRACE();

  // ---- phase B: x_proj's output; dt_proj, the state update and the gate.
  {
    const int pairs = B * P;  // (row m, column j) at m * P + j
    const int groups = pairs >= kFusedThreads ? 1 : kFusedThreads / pairs;
    for (int t = tid; t < (groups == 1 ? pairs : groups * pairs); t += kFusedThreads) {
      const int k = groups == 1 ? 0 : t / pairs, q = t - k * pairs;
      const int m = q / P, j = q - m * P;
      const int g0 = int(int64_t(k) * G / groups), g1 = int(int64_t(k + 1) * G / groups);
      const float* src = a.partials + int64_t(m) * P + j;
      // All of a batch's loads are in flight before the first add (the
      // partials were just written by other SMs: L2 round trips).
      constexpr int kBatch = 32;
      float s = 0.0f;
      for (int gb = g0; gb < g1; gb += kBatch) {
        float v[kBatch];
#pragma unroll
        for (int u = 0; u < kBatch; ++u)
          v[u] = gb + u < g1 ? __ldcg(src + int64_t(gb + u) * kFusedMaxRows * P) : 0.0f;
#pragma unroll
        for (int u = 0; u < kBatch; ++u)
          if (gb + u < g1) s += v[u];
      }
      if (groups == 1)
        ps[q] = s;
      else
        red[t] = s;
    }
    if (groups > 1) {
      __syncthreads();
      if (tid < pairs) {
        float s = red[tid];
        for (int k = 1; k < groups; ++k) s += red[k * pairs + tid];
        ps[tid] = s;
      }
    }
  }
  __syncthreads();
  TRACE();
  if (a.bcdt) {
    for (int w = warp; w < 3 * B; w += kFusedWarps) {
      const int m = w / 3, seg = w - 3 * m;
      float* v = ps + m * P + (seg == 0 ? 0 : seg == 1 ? R : R + N);
      rms_segment(v, seg == 0 ? R : N, a.bcdt_eps, lane);
    }
    __syncthreads();
  }
  // 16 lanes per (row, channel), as mamba_step_kernel.
  for (int q0 = 0; q0 < B * nc; q0 += kFusedThreads / 16) {
    const int q = q0 + tid / 16, l = tid % 16;
    const bool valid = q < B * nc;
    const int m = valid ? q / nc : 0, i = valid ? q - m * nc : 0, c = c0 + i;
    const float* pr = ps + m * P;
    float draw = 0.0f, acc = 0.0f, xv = 0.0f;
    if (valid)
      for (int r = l; r < R; r += 16) draw = fmaf(cuda::to_float(wdt[int64_t(i) * R + r]), pr[r], draw);
#pragma unroll
    for (int s = 8; s >= 1; s /= 2) draw += __shfl_xor_sync(0xffffffffu, draw, s, 16);
    if (valid) {
      const float dt = cuda::softplusf_(__fadd_rn(draw, pdtb[i]));
      xv = xcs[m * cmax + i];
      const float u = __fmul_rn(dt, xv);
      const float* Bs = pr + R;
      const float* Cs = Bs + N;
      float* S = cuda::state_f32(sbase, m, a.ssm_off) + int64_t(c) * N;
      acc = step_lane_states<0>(dt, u, pA + i * N, S, Bs, Cs, N, l);
    }
    acc = half_warp_tree16(acc);
    if (valid && l == 0) {
      const float gz = cuda::siluf_(xzs[m * 2 * cmax + nc + i]);
      a.ybuf[int64_t(m) * Di + c] = __fmul_rn(__fadd_rn(acc, __fmul_rn(pD[i], xv)), gz);
    }
  }
  TRACE();
  cuda::grid_barrier(a.barrier);
  TRACE();

  // ---- phase C: out_proj rows of the block over all of y.
  for (int k = tid; k < Di; k += kFusedThreads)
#pragma unroll
    for (int m = 0; m < MR; ++m)
      if (m < B) xs[m * ldx + k] = __ldcg(a.ybuf + int64_t(m) * Di + k);
  __syncthreads();
  for (int o = o0 + warp; o < o0 + no; o += kFusedWarps) {
    float acc[MR], old[MR];
#pragma unroll
    for (int m = 0; m < MR; ++m) old[m] = a.accumulate && lane == 0 && m < B ? a.y[int64_t(m) * Dm + o] : 0.0f;
    warp_dots<WT, MR, VEC>(wout + int64_t(o - o0) * Di, Di, xs, ldx, B, lane, acc);
    if (lane == 0) {
      const float b = pbout[o - o0];
#pragma unroll
      for (int m = 0; m < MR; ++m) {
        if (m < B) {
          const float v = acc[m] + b;
          a.y[int64_t(m) * Dm + o] = a.accumulate ? old[m] + v : v;
        }
      }
    }
  }
  TRACE_END();
}

// ------------------------------------------------------------------ the block

class CudaMamba final : public Block {
 public:
  CudaMamba(const Config& c, const BlockInfo&, const WeightSource& w)
      : Dm_(c.i("d_model")), Di_(c.i("d_inner")), N_(c.i("d_state")), K_(c.i("d_conv")), R_(dt_rank_of(c)),
        P_(R_ + 2 * N_), bcdt_(c.b("bcdt_rms")), eps_(float(c.f("rms_eps"))) {
    const DType wd = w.matrix_dtype();
    win_ = cuda::Matrix::upload(w.get_matrix("in_proj.weight"), 2 * Di_, Dm_, wd);
    if (c.b("bias")) {
      bin_ = cuda::DeviceArray::upload(w.get("in_proj.bias"), size_t(2 * Di_));
      bout_ = cuda::DeviceArray::upload(w.get("out_proj.bias"), size_t(Dm_));
    }
    std::vector<float> packed(size_t(K_ * Di_));
    conv::pack_conv_weight(w.get("conv1d.weight"), Di_, K_, packed.data());
    conv_w_ = cuda::DeviceArray::upload(packed.data(), packed.size());
    if (c.b("conv_bias")) conv_b_ = cuda::DeviceArray::upload(w.get("conv1d.bias"), size_t(Di_));
    wxp_ = cuda::Matrix::upload(w.get_matrix("x_proj.weight"), P_, Di_, wd);
    wdt_ = cuda::Matrix::upload(w.get_matrix("dt_proj.weight"), Di_, R_, wd);
    dt_b_ = cuda::DeviceArray::upload(w.get("dt_proj.bias"), size_t(Di_));
    // A = -exp(A_log) [Di, N], with the CPU's exp.
    std::vector<float> A(size_t(Di_ * N_));
    cpu::vexp(w.get("A_log"), A.data(), Di_ * N_);
    for (auto& v : A) v = -v;
    A_ = cuda::DeviceArray::upload(A.data(), A.size());
    D_ = cuda::DeviceArray::upload(w.get("D"), size_t(Di_));
    wout_ = cuda::Matrix::upload(w.get_matrix("out_proj.weight"), Dm_, Di_, wd);
    setup_fused(w.get_matrix("x_proj.weight"), wd);
    if (N_ <= kTiledMaxN)
      for (auto* k : {mamba_tiled_scan_kernel<1>, mamba_tiled_scan_kernel<4>})
        cuda::check(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, int(tiled_smem_bytes(N_))),
                    "mamba tiled scan: shared memory");
  }

  size_t scratch_bytes(int64_t B, int64_t T) const override {
    const size_t rows = size_t(B * T);
    const int64_t r = B * T;
    const size_t fused = B <= kFusedMaxRows && T == 1 ? align_up(size_t(G_ * kFusedMaxRows * P_) * 4) +
                                                          align_up(size_t(B * Di_) * 4)
                                                    : 0;
    return std::max(fused, align_up(rows * size_t(Dm_) * 4) + align_up(rows * size_t(2 * Di_) * 4) +
                               2 * align_up(rows * size_t(Di_) * 4) + align_up(rows * size_t(P_) * 4) +
           std::max({win_.scratch_bytes(r), wxp_.scratch_bytes(r), wdt_.scratch_bytes(r), wout_.scratch_bytes(r),
                     segmented(B, T) && !tiled(T) ? seg_scratch_bytes(T) : size_t(0)}));
  }

  bool accumulates() const override { return true; }
  // Every kernel reads x (in_proj, or the fused step's phase A) before any
  // writes y (out_proj, or phase C after two grid barriers).
  bool accumulates_in_place() const override { return true; }
  bool absorbs_input_norm() const override { return true; }

  // The fused step's copy of x_proj (transposed) is read instead of x_proj.
  size_t weight_bytes() const override { return step_read_bytes() + wxpT_.bytes(); }
  size_t step_read_bytes() const override {
    return win_.bytes() + bin_.bytes() + bout_.bytes() + conv_w_.bytes() + conv_b_.bytes() + wxp_.bytes() +
           wdt_.bytes() + dt_b_.bytes() + A_.bytes() + D_.bytes() + wout_.bytes();
  }

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs& st) const override {
    const cuda::Ctx& cu = cuda::ctx_of(ctx);
    const int64_t rows = B * T, Di = Di_;
    if (rows <= 0) return;
    if (fused(B, T)) {
      fused_step(ctx, cu, x, y, B, st);
      return;
    }
    if (ctx.in_norm) {  // the absorbed norm, into scratch
      float* xn = ctx.ws.alloc<float>(size_t(rows * Dm_));
      cuda::rms_norm(cu, x, xn, rows, *ctx.in_norm);
      x = xn;
    }
    float* xz = ctx.ws.alloc<float>(size_t(rows * 2 * Di));  // in_proj: x | z
    float* xc = ctx.ws.alloc<float>(size_t(rows * Di));      // silu(conv(x))
    float* dt = ctx.ws.alloc<float>(size_t(rows * Di));      // dt_proj (no bias), then the gated scan output
    float* p = ctx.ws.alloc<float>(size_t(rows * P_));       // x_proj: dt_r, B, C
    const int conv_slot = K_ > 1 ? 0 : -1, ssm_slot = K_ > 1 ? 1 : 0;

    // (1) in_proj, conv + silu.
    cuda::MatArgs in_args;
    in_args.bias = bin_.empty() ? nullptr : bin_.data();
    win_.apply(ctx, rows, x, Dm_, xz, 2 * Di, in_args);
    cuda::causal_conv(cu, xz, 2 * Di, xc, Di, B, T, Di, K_, conv_w_.data(), conv_b_.empty() ? nullptr : conv_b_.data(),
                      st.streams, conv_slot >= 0 ? st.offsets[conv_slot] : 0, conv::Act::silu);

    // (2) x_proj; bcdt_rms.
    wxp_.apply(ctx, rows, xc, Di, p, P_);
    if (bcdt_) {
      cuda::launch_pdl(cu, bcdt_rms_kernel, unsigned(rows), 96, 0, "mamba bcdt_rms", p, P_, R_, N_, eps_);
      cuda::check_launch("mamba bcdt_rms");
    }

    // (3) dt_proj, then the scan (dt bias, softplus, recurrence, D skip, gate).
    // (the step kernel computes dt_proj itself)
    if (!(step_kernel(T) && fuse_dt(B))) wdt_.apply(ctx, rows, p, P_, dt, Di, {false, nullptr, 0, R_});
    ScanArgs a{};
    a.B = B;
    a.T = T;
    a.Di = Di;
    a.N = N_;
    a.R = R_;
    a.ldp = P_;
    a.dtr = dt;
    a.dtb = dt_b_.data();
    a.xc = xc;
    a.z = xz + Di;
    a.ldz = 2 * Di;
    a.p = p;
    a.A = A_.data();
    a.D = D_.data();
    a.streams = st.streams;
    a.ssm_off = st.offsets[ssm_slot];
    a.y = dt;  // in place (see ScanArgs)
    if (tiled(T)) {
      const dim3 grid(cuda::grid_for(Di, kTileChannels), unsigned(std::min<int64_t>(B, 65535)));
      cuda::launch_pdl(cu, tiled_vec(a) ? mamba_tiled_scan_kernel<4> : mamba_tiled_scan_kernel<1>, grid,
                       kTileWarps * 32, tiled_smem_bytes(N_), "mamba tiled scan", a);
      cuda::check_launch("mamba tiled scan");
    } else if (segmented(B, T)) {
      segmented_scan(ctx, cu, a);
    }
    else {
      launch_scan(cu, a);
    }

    // (4) out_proj.
    cuda::MatArgs out_args;
    out_args.bias = bout_.empty() ? nullptr : bout_.data();
    out_args.accumulate = ctx.accumulate;  // a fused residual add
    wout_.apply(ctx, rows, dt, Di, y, Dm_, out_args);
  }

 private:
  // ---- the fused step (mamba_fused_step_kernel)
  template <typename WT, int BPS>
  static void fused_kernels(bool vec, void (*(&k)[3])(FusedArgs)) {
    if (vec) {
      k[0] = mamba_fused_step_kernel<WT, 1, true, BPS>;
      k[1] = mamba_fused_step_kernel<WT, 2, true, BPS>;
      k[2] = mamba_fused_step_kernel<WT, 4, true, BPS>;
    } else {
      k[0] = mamba_fused_step_kernel<WT, 1, false, BPS>;
      k[1] = mamba_fused_step_kernel<WT, 2, false, BPS>;
      k[2] = mamba_fused_step_kernel<WT, 4, false, BPS>;
    }
  }

  template <typename WT>
  bool prepare_fused() {
    constexpr int V = cuda::Vec16<WT>::n;
    const bool vec = Dm_ % V == 0 && Di_ % V == 0;
    using K = void (*)(FusedArgs);
    K all[3] = {};
    // Blocks per SM and whether the rows are staged (fused_smem_max), for
    // the largest instance (4 rows). f32 always runs one block per SM.
    const size_t need = fused_smem(dims(), kFusedMaxRows, sizeof(WT), true).total;
    int bps = 1;
    if constexpr (sizeof(WT) == 2) {
      bps = need <= fused_smem_max(2) || need > fused_smem_max(1) ? 2 : 1;
      if (bps == 2)
        fused_kernels<WT, 2>(vec, all);
      else
        fused_kernels<WT, 1>(vec, all);
    } else {
      fused_kernels<WT, 1>(vec, all);
    }
    staged_ = need <= fused_smem_max(bps);
    for (int j = 0; j < 3; ++j) {
      const K k = all[j];
      const size_t smem = fused_smem(dims(), 1 << j, sizeof(WT), staged_).total;
      if (smem > 48 * 1024 &&
          cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)) != cudaSuccess) {
        (void)cudaGetLastError();
        return false;
      }
      int per_sm = 0;
      if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, k, kFusedThreads, smem) != cudaSuccess ||
          per_sm < 1) {
        (void)cudaGetLastError();
        return false;
      }
      kernels_[j] = k;
    }
    return true;
  }

  // Sets up the fused step where the device allows it: one block per SM,
  // x_proj transposed (a block reads the rows of its channels), a barrier
  // counter.
  void setup_fused(const float* wxp_host, DType wd) {
    int dev = 0, sms = 0, coop = 0;
    cuda::check(cudaGetDevice(&dev), "cudaGetDevice");
    cuda::check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev), "SM count");
    cuda::check(cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, dev), "cooperative launch");
    G_ = std::max(1, sms);
    if (!coop) return;
    const bool ok = wd == DType::bf16 ? prepare_fused<__nv_bfloat16>()
                    : wd == DType::f16 ? prepare_fused<__half>()
                                        : prepare_fused<float>();
    if (!ok) return;
    std::vector<float> t(size_t(Di_ * P_));
    for (int64_t j = 0; j < P_; ++j)
      for (int64_t i = 0; i < Di_; ++i) t[size_t(i * P_ + j)] = wxp_host[j * Di_ + i];
    wxpT_ = cuda::Matrix::upload(t.data(), Di_, P_, wd);
    barrier_ = cuda::DeviceArray(2);  // one zeroed 64-bit counter
    fused_ok_ = true;
  }

  FusedDims dims() const { return {Dm_, Di_, P_, R_, N_, K_, G_}; }

  bool fused(int64_t B, int64_t T) const {
    return fused_ok_ && T == 1 && B <= kFusedMaxRows && cuda::persistent_enabled();
  }

  void fused_step(RunCtx& ctx, const cuda::Ctx& cu, const float* x, float* y, int64_t B, const StateRefs& st) const {
    const int slot = B <= 1 ? 0 : B <= 2 ? 1 : 2;  // kernels_: 1, 2, 4 rows
    FusedArgs a{};
    a.B = int(B);
    a.Dm = int(Dm_);
    a.Di = int(Di_);
    a.N = int(N_);
    a.R = int(R_);
    a.P = int(P_);
    a.K = int(K_);
    a.x = x;
    a.norm_scale = ctx.in_norm ? ctx.in_norm->scale : nullptr;
    a.norm_eps = ctx.in_norm ? ctx.in_norm->eps : 0.0f;
    a.y = y;
    a.accumulate = ctx.accumulate;
    a.win = win_.data();
    a.bin = bin_.empty() ? nullptr : bin_.data();
    a.conv_w = conv_w_.data();
    a.conv_b = conv_b_.empty() ? nullptr : conv_b_.data();
    a.wxpT = wxpT_.data();
    a.wdt = wdt_.data();
    a.dtb = dt_b_.data();
    a.A = A_.data();
    a.D = D_.data();
    a.wout = wout_.data();
    a.bout = bout_.empty() ? nullptr : bout_.data();
    a.bcdt = bcdt_;
    a.bcdt_eps = eps_;
    a.streams = st.streams;
    a.conv_off = K_ > 1 ? st.offsets[0] : 0;
    a.ssm_off = st.offsets[K_ > 1 ? 1 : 0];
    a.partials = ctx.ws.alloc<float>(size_t(G_ * kFusedMaxRows * P_));
    a.ybuf = ctx.ws.alloc<float>(size_t(B * Di_));
    a.barrier = reinterpret_cast<unsigned long long*>(barrier_.data());
    a.staged = staged_;
    cuda::launch_persistent(cu, kernels_[slot], unsigned(G_), kFusedThreads,
                            fused_smem(dims(), 1 << slot, dtype_size(wout_.dtype()), staged_).total,
                            "mamba fused step", a);
  }

  // Lanes per channel and states per lane for this N (see mamba_scan_kernel).
  template <int L, int SPL>
  void launch(const cuda::Ctx& cu, ScanArgs a) const {
    constexpr int cpb = kScanThreads / L;
    a.tc = std::clamp<int64_t>(kBufferFloats / buffer_floats(1, N_, cpb), 1, std::min<int64_t>(kMaxChunk, a.T));
    // Two staging buffers and the lanes' partial sums: at most about
    // 2 * max(kBufferFloats, buffer_floats(1, 1024, 4)) + kMaxChunk * kScanThreads floats (under 48 KiB).
    const size_t smem = size_t(2 * buffer_floats(a.tc, N_, cpb) + a.tc * kScanThreads) * sizeof(float);
    const dim3 grid(cuda::grid_for(Di_, cpb), unsigned(std::min<int64_t>(a.B, 65535)));
    mamba_scan_kernel<L, SPL><<<grid, kScanThreads, smem, cu.stream>>>(a);
    cuda::check_launch("mamba selective scan");
  }

  // Whether a call takes mamba_step_kernel, and whether dt_proj is fused
  // into it: up to kGemvRows streams (where it would be a GEMV); more streams
  // run dt_proj as a tensor-core GEMM first.
  bool step_kernel(int64_t T) const { return T == 1 && N_ <= 64; }
  static bool fuse_dt(int64_t B) { return B <= cuda::kGemvRows; }

  template <typename WT>
  void launch_step(const cuda::Ctx& cu, ScanArgs a) const {
    a.wdt = fuse_dt(a.B) ? wdt_.data() : nullptr;
    const unsigned grid = cuda::grid_for(a.B * Di_ * 16, 128);
    if (N_ <= 16)
      cuda::launch_pdl(cu, mamba_step_kernel<1, WT>, grid, 128, 0, "mamba step", a);
    else if (N_ <= 32)
      cuda::launch_pdl(cu, mamba_step_kernel<2, WT>, grid, 128, 0, "mamba step", a);
    else
      cuda::launch_pdl(cu, mamba_step_kernel<4, WT>, grid, 128, 0, "mamba step", a);
    cuda::check_launch("mamba step");
  }

  // Whether the tiled scan can load 16 bytes at a time: rows of dt, x, z
  // and y and the B and C of x_proj's rows start 16-byte aligned.
  static bool tiled_vec(const ScanArgs& a) {
    using cuda::aligned16;
    return a.Di % 4 == 0 && a.ldz % 4 == 0 && a.N % 4 == 0 && a.R % 4 == 0 && a.ldp % 4 == 0 && aligned16(a.dtr) &&
           aligned16(a.xc) && aligned16(a.z) && aligned16(a.p) && aligned16(a.y);
  }

  // Whether a call of T positions per stream takes the tiled scan.
  bool tiled(int64_t T) const { return T >= kTiledMinT && N_ <= kTiledMaxN; }

  // Whether a call of B streams x T positions takes the segmented scan.
  static bool segmented(int64_t B, int64_t T) { return B == 1 && T % kSegLen == 0 && T / kSegLen >= kMinSegments; }

  // Scratch of the segmented scan: local and final segment states, dt sums,
  // the discarded y of pass 1.
  size_t seg_scratch_bytes(int64_t T) const {
    const int64_t S = T / kSegLen;
    return 2 * align_up(size_t(S * Di_ * N_) * 4) + align_up(size_t(S * Di_) * 4) + align_up(size_t(T * Di_) * 4);
  }

  void segmented_scan(RunCtx& ctx, const cuda::Ctx& cu, ScanArgs a) const {
    const int64_t T = a.T, S = T / kSegLen, Di = Di_, N = N_;
    float* local = ctx.ws.alloc<float>(size_t(S * Di * N));
    float* ends = ctx.ws.alloc<float>(size_t(S * Di * N));
    float* sdt = ctx.ws.alloc<float>(size_t(S * Di));
    float* ydrop = ctx.ws.alloc<float>(size_t(T * Di));
    cuda::check(cudaMemsetAsync(local, 0, size_t(S * Di * N) * 4, cu.stream), "clearing segment states");
    ScanArgs p = a;
    p.B = S;
    p.T = kSegLen;
    p.seg_states = local;
    p.dt_sum = sdt;
    p.y = ydrop;  // pass 1 keeps dtr intact for pass 2
    launch_scan(cu, p);
    p.seg_states = ends;
    p.dt_sum = nullptr;
    p.carry_local = local;
    p.carry_dt = sdt;
    p.y = a.y;
    launch_scan(cu, p);
    seg_store_kernel<<<cuda::grid_for(Di * N, 128), 128, 0, cu.stream>>>(ends + (S - 1) * Di * N, a.streams, a.ssm_off,
                                                                        Di * N);
    cuda::check_launch("mamba segment store");
  }

  void launch_scan(const cuda::Ctx& cu, const ScanArgs& a) const {
    if (step_kernel(a.T)) {
      if (wdt_.dtype() == DType::bf16)
        launch_step<__nv_bfloat16>(cu, a);
      else if (wdt_.dtype() == DType::f16)
        launch_step<__half>(cu, a);
      else
        launch_step<float>(cu, a);
      return;
    }
    // 16 lanes per channel (twice the blocks) while the grid is small (one
    // stream): the scan is latency-bound there; 8 lanes once there are blocks
    // enough to fill the GPU many times (step_many), where fewer redundant
    // per-channel instructions win.
    const int64_t blocks16 = a.B * cuda::grid_for(Di_, kScanThreads / 16);
    if (N_ <= 16 && blocks16 <= 8 * int64_t(std::max(cu.sm_count, 1))) {
      launch<16, 1>(cu, a);
    } else if (N_ <= 8) {
      launch<8, 1>(cu, a);
    } else if (N_ <= 16) {
      launch<8, 2>(cu, a);
    } else if (N_ <= 32) {
      launch<8, 4>(cu, a);
    } else if (N_ <= 64) {
      launch<8, 8>(cu, a);
    } else if (N_ <= 128) {
      launch<8, 16>(cu, a);
    } else {
      launch<32, 0>(cu, a);
    }
  }

  int64_t Dm_, Di_, N_, K_, R_, P_;
  bool bcdt_;
  float eps_;
  cuda::Matrix win_, wxp_, wdt_, wout_;
  cuda::DeviceArray bin_, bout_, conv_w_, conv_b_, dt_b_, A_, D_;
  // The fused step: grid size (SMs), whether usable, the kernels by rows
  // (1, 2, 4), x_proj transposed, the barrier counter.
  int G_ = 1;
  bool fused_ok_ = false, staged_ = false;
  void (*kernels_[3])(FusedArgs) = {};
  cuda::Matrix wxpT_;
  cuda::DeviceArray barrier_;
};

}  // namespace

std::unique_ptr<Block> create_cuda_mamba(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<CudaMamba>(c, info, w);
}

}  // namespace seqc
