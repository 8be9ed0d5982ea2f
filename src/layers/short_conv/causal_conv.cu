// The device causal depthwise convolution (causal_conv.cuh).
//
// Two shapes of work:
//   * few positions (a step, step_many, short calls): one kernel, one thread
//     per (stream, channel) that computes the channel's T outputs and then
//     shifts its state column; nothing else touches that column, so the
//     state is read before it is overwritten without any synchronisation.
//   * longer calls: one thread per (stream, channel) and run of positions,
//     or per 4 channels where rows are 16-byte aligned and K <= 4 (reads
//     the old state), then a second kernel, one thread per (stream, channel), writes
//     the new state. Stream order separates the two.
#include "layers/short_conv/causal_conv.cuh"

#include <algorithm>

namespace seqc::cuda {

namespace {

constexpr int kThreads = 128;

// Output (t, c) of one stream: x rows of the stream at xb (stride ldx), its
// state st [K-1, C] (null when K = 1).
__device__ __forceinline__ float conv_at(const float* __restrict__ xb, int64_t ldx, const float* st, int64_t C,
                                         int64_t K, int64_t t, int64_t c, const float* __restrict__ w,
                                         const float* __restrict__ bias, bool silu) {
  float acc = bias ? bias[c] : 0.0f;
  for (int64_t j = 0; j < K; ++j) {
    const int64_t p = t - K + 1 + j;  // relative position; p < 0: from the state (p = -1 newest)
    const float v = p >= 0 ? xb[p * ldx + c] : st[(K - 1 + p) * C + c];
    acc = __fadd_rn(acc, __fmul_rn(w[j * C + c], v));  // no fma: the CPU's rounding
  }
  return silu ? siluf_(acc) : acc;
}

// The new state column c after T inputs: the last K-1 inputs, from x, or
// shifted from the state when T < K-1 (ascending rows: row r + T is read
// before row r + T is written).
__device__ __forceinline__ void shift_state(const float* __restrict__ xb, int64_t ldx, float* st, int64_t C,
                                            int64_t K, int64_t T, int64_t c) {
  const int64_t S = K - 1;
  if (T >= S) {
    for (int64_t r = 0; r < S; ++r) st[r * C + c] = xb[(T - S + r) * ldx + c];
  } else {
    for (int64_t r = 0; r < S - T; ++r) st[r * C + c] = st[(r + T) * C + c];
    for (int64_t r = 0; r < T; ++r) st[(S - T + r) * C + c] = xb[r * ldx + c];
  }
}

// grid (ceil(C / kThreads), min(B, 65535)): one thread per (stream, channel), all T
// positions, then the state.
__global__ void conv_columns_kernel(const float* __restrict__ x, int64_t ldx, float* __restrict__ y, int64_t ldy,
                                    int64_t B, int64_t T, int64_t C, int64_t K, const float* __restrict__ w,
                                    const float* __restrict__ bias, std::byte* const* streams, size_t off,
                                    bool silu) {
  cuda::pdl_wait();  // see launch_pdl
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  for (int64_t b = blockIdx.y; b < B; b += gridDim.y) {
    const float* xb = x + b * T * ldx;
    float* yb = y + b * T * ldy;
    float* st = K > 1 ? state_f32(streams, b, off) : nullptr;
    for (int64_t t = 0; t < T; ++t) yb[t * ldy + c] = conv_at(xb, ldx, st, C, K, t, c, w, bias, silu);
    if (st) shift_state(xb, ldx, st, C, K, T, c);
  }
}

// grid (ceil(C / kThreads), min(B * ceil(T / kRunT), 65535)): one thread
// per (stream, channel, run of kRunT positions), runs grid-strided; the
// taps a run shares come from L1. Reads the old state only.
constexpr int kRunT = 8;
__global__ void conv_outputs_kernel(const float* __restrict__ x, int64_t ldx, float* __restrict__ y, int64_t ldy,
                                    int64_t B, int64_t T, int64_t C, int64_t K, const float* __restrict__ w,
                                    const float* __restrict__ bias, std::byte* const* streams, size_t off,
                                    bool silu) {
  cuda::pdl_wait();  // see launch_pdl
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const int64_t runs = (T + kRunT - 1) / kRunT;
  for (int64_t q = blockIdx.y; q < B * runs; q += gridDim.y) {
    const int64_t b = q / runs, t0 = (q - b * runs) * kRunT, t1 = t0 + kRunT < T ? t0 + kRunT : T;
    const float* st = K > 1 ? state_f32(streams, b, off) : nullptr;
    const float* xb = x + b * T * ldx;
    float* yb = y + b * T * ldy;
    for (int64_t t = t0; t < t1; ++t) yb[t * ldy + c] = conv_at(xb, ldx, st, C, K, t, c, w, bias, silu);
  }
}

// conv_outputs_kernel for K = KT in 2..4 and 16-byte rows (C, ldx, ldy
// multiples of 4; x, y, w, bias and the states 16-byte aligned): a thread
// per (stream, 4 channels, run of kRun4 positions), the taps a run shares
// kept in registers and its inputs loaded together; the same operations in
// the same order per channel.
__device__ __forceinline__ float4 ld4_(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 tap4_(float4 acc, float4 w, float4 v) {
  return make_float4(__fadd_rn(acc.x, __fmul_rn(w.x, v.x)), __fadd_rn(acc.y, __fmul_rn(w.y, v.y)),
                     __fadd_rn(acc.z, __fmul_rn(w.z, v.z)), __fadd_rn(acc.w, __fmul_rn(w.w, v.w)));
}
constexpr int kRun4 = 4;  // runs of 2, 4 and 8: 4 was the fastest (Mamba and Mamba-2 prefill, H100)
template <int KT, int RUN = kRun4>
__global__ void conv_outputs4_kernel(const float* __restrict__ x, int64_t ldx, float* __restrict__ y, int64_t ldy,
                                     int64_t B, int64_t T, int64_t C, const float* __restrict__ w,
                                     const float* __restrict__ bias, std::byte* const* streams, size_t off,
                                     bool silu) {
  cuda::pdl_wait();  // see launch_pdl
  const int64_t c = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * 4;
  if (c >= C) return;
  float4 wt[KT];
#pragma unroll
  for (int j = 0; j < KT; ++j) wt[j] = ld4_(w + j * C + c);
  const float4 b4 = bias ? ld4_(bias + c) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  const int64_t runs = (T + RUN - 1) / RUN;
  for (int64_t q = blockIdx.y; q < B * runs; q += gridDim.y) {
    const int64_t b = q / runs, t0 = (q - b * runs) * RUN;
    const int n = int(t0 + RUN < T ? RUN : T - t0);
    const float* st = state_f32(streams, b, off);
    const float* xb = x + b * T * ldx;
    float* yb = y + (b * T + t0) * ldy;
    // v[i]: the input at position t0 - (KT - 1) + i.
    float4 v[RUN + KT - 1];
#pragma unroll
    for (int i = 0; i < RUN + KT - 1; ++i) {
      const int64_t p = t0 - (KT - 1) + i;
      if (i < KT - 1)
        v[i] = p >= 0 ? ld4_(xb + p * ldx + c) : ld4_(st + (KT - 1 + p) * C + c);
      else if (i - (KT - 1) < n)
        v[i] = ld4_(xb + p * ldx + c);
    }
#pragma unroll
    for (int i = 0; i < RUN; ++i) {
      if (i < n) {
        float4 acc = b4;
#pragma unroll
        for (int j = 0; j < KT; ++j) acc = tap4_(acc, wt[j], v[i + j]);
        if (silu) acc = make_float4(siluf_(acc.x), siluf_(acc.y), siluf_(acc.z), siluf_(acc.w));
        *reinterpret_cast<float4*>(yb + i * ldy + c) = acc;
      }
    }
  }
}

// grid (ceil(C / kThreads), min(B, 65535)): the new state after the outputs were made.
__global__ void conv_state_kernel(const float* __restrict__ x, int64_t ldx, int64_t B, int64_t T, int64_t C,
                                  int64_t K, std::byte* const* streams, size_t off) {
  cuda::pdl_wait();  // see launch_pdl
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  for (int64_t b = blockIdx.y; b < B; b += gridDim.y)
    shift_state(x + b * T * ldx, ldx, state_f32(streams, b, off), C, K, T, c);
}

}  // namespace

void causal_conv(const Ctx& ctx, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t B, int64_t T,
                 int64_t C, int64_t K, const float* w, const float* bias, std::byte* const* streams,
                 size_t state_offset, conv::Act act) {
  if (B <= 0 || T <= 0 || C <= 0) return;
  const bool silu = act == conv::Act::silu;
  const dim3 col_grid(grid_for(C, kThreads), unsigned(std::min<int64_t>(B, 65535)));
  // Per-column work is T * K sequential taps: fine for a step or a few
  // positions; beyond that, one thread per output.
  if (T * K <= 64 || T == 1) {
    launch_pdl(ctx, conv_columns_kernel, col_grid, kThreads, 0, "causal conv (columns)", x, ldx, y, ldy, B, T, C,
               K, w, bias, streams, state_offset, silu);
    return;
  }
  const bool vec = K >= 2 && K <= 4 && C % 4 == 0 && ldx % 4 == 0 && ldy % 4 == 0 && state_offset % 16 == 0 &&
                   aligned16(x) && aligned16(y) && aligned16(w) && (!bias || aligned16(bias));
  if (vec) {
    // Stream states come from the pool, 256-byte aligned; with C % 4 == 0 every state row is 16-byte aligned.
    const dim3 grid(grid_for(C / 4, kThreads), unsigned(std::min<int64_t>(B * ((T + kRun4 - 1) / kRun4), 65535)));
    auto kernel = K == 2 ? conv_outputs4_kernel<2> : K == 3 ? conv_outputs4_kernel<3> : conv_outputs4_kernel<4>;
    launch_pdl(ctx, kernel, grid, kThreads, 0, "causal conv (outputs)", x, ldx, y, ldy, B, T, C, w, bias, streams,
               state_offset, silu);
  } else {
    const dim3 grid(grid_for(C, kThreads), unsigned(std::min<int64_t>(B * ((T + kRunT - 1) / kRunT), 65535)));
    launch_pdl(ctx, conv_outputs_kernel, grid, kThreads, 0, "causal conv (outputs)", x, ldx, y, ldy, B, T, C, K, w,
               bias, streams, state_offset, silu);
  }
  if (K > 1) {
    conv_state_kernel<<<col_grid, kThreads, 0, ctx.stream>>>(x, ldx, B, T, C, K, streams, state_offset);
    check_launch("causal conv (state)");
  }
}

}  // namespace seqc::cuda
