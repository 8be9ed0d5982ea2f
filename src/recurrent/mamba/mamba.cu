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
// Launches per call: in_proj GEMM (+ bias), conv (1, or 2 for long calls),
// x_proj GEMM, (bcdt_rms), dt_proj GEMM, scan, out_proj GEMM (+ bias). A
// step (T = 1) with N <= 64 runs dt_proj and the scan in one kernel, 16 lanes
// per (stream, channel) with the states in registers (mamba_step_kernel:
// 5 launches a layer with the conv and the three GEMVs); longer calls
// stage chunks of positions through shared memory (mamba_scan_kernel), long
// single-stream calls as segments side by side (segmented scan).
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
#pragma unroll
    for (int k = 0; k < SPL; ++k) {
      const int n = lane + 16 * k;
      if (n < N) {
        const float e = expf(__fmul_rn(dt, Ar[n]));
        const float h = __fadd_rn(__fmul_rn(e, S[n]), __fmul_rn(u, Bs[n]));
        S[n] = h;
        acc = __fadd_rn(acc, __fmul_rn(h, Cs[n]));
      }
    }
  }
  // tree_sum<16> over the 16 lanes: l[j] += l[j + s] for s = 8, 4, 2, 1.
#pragma unroll
  for (int s = 8; s >= 1; s /= 2) acc = __fadd_rn(acc, __shfl_down_sync(0xffffffffu, acc, s, 16));
  if (valid && lane == 0) {
    const float g = cuda::siluf_(a.z[b * a.ldz + d]);
    a.y[b * Di + d] = __fmul_rn(__fadd_rn(acc, __fmul_rn(a.D[d], xv)), g);
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
  }

  size_t scratch_bytes(int64_t B, int64_t T) const override {
    const size_t rows = size_t(B * T);
    const int64_t r = B * T;
    return align_up(rows * size_t(2 * Di_) * 4) + 2 * align_up(rows * size_t(Di_) * 4) +
           align_up(rows * size_t(P_) * 4) +
           std::max({win_.scratch_bytes(r), wxp_.scratch_bytes(r), wdt_.scratch_bytes(r), wout_.scratch_bytes(r),
                     segmented(B, T) ? seg_scratch_bytes(T) : size_t(0)});
  }

  bool accumulates() const override { return true; }

  size_t weight_bytes() const override {
    return win_.bytes() + bin_.bytes() + bout_.bytes() + conv_w_.bytes() + conv_b_.bytes() + wxp_.bytes() +
           wdt_.bytes() + dt_b_.bytes() + A_.bytes() + D_.bytes() + wout_.bytes();
  }

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs& st) const override {
    const cuda::Ctx& cu = cuda::ctx_of(ctx);
    const int64_t rows = B * T, Di = Di_;
    if (rows <= 0) return;
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
    if (segmented(B, T))
      segmented_scan(ctx, cu, a);
    else
      launch_scan(cu, a);

    // (4) out_proj.
    cuda::MatArgs out_args;
    out_args.bias = bout_.empty() ? nullptr : bout_.data();
    out_args.accumulate = ctx.accumulate;  // a fused residual add
    wout_.apply(ctx, rows, dt, Di, y, Dm_, out_args);
  }

 private:
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
};

}  // namespace

std::unique_ptr<Block> create_cuda_mamba(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<CudaMamba>(c, info, w);
}

}  // namespace seqc
