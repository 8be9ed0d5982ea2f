// The device causal depthwise convolution (causal_conv.cuh).
//
// Two shapes of work:
//   * few positions (a step, step_many, short calls): one kernel, one thread
//     per (stream, channel) that computes the channel's T outputs and then
//     shifts its state column; nothing else touches that column, so the
//     state is read before it is overwritten without any synchronisation.
//   * longer calls: one thread per (row, channel) output (reads the old
//     state), then a second kernel, one thread per (stream, channel), writes
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

// grid (ceil(C / kThreads), min(B * T, 65535)): one thread per output
// element (row r = b*T + t, channel c), rows grid-strided. Reads the old
// state only.
__global__ void conv_outputs_kernel(const float* __restrict__ x, int64_t ldx, float* __restrict__ y, int64_t ldy,
                                    int64_t B, int64_t T, int64_t C, int64_t K, const float* __restrict__ w,
                                    const float* __restrict__ bias, std::byte* const* streams, size_t off,
                                    bool silu) {
  cuda::pdl_wait();  // see launch_pdl
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  for (int64_t r = blockIdx.y; r < B * T; r += gridDim.y) {
    const int64_t b = r / T, t = r - b * T;
    const float* st = K > 1 ? state_f32(streams, b, off) : nullptr;
    y[r * ldy + c] = conv_at(x + b * T * ldx, ldx, st, C, K, t, c, w, bias, silu);
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
  const dim3 out_grid(grid_for(C, kThreads), unsigned(std::min<int64_t>(B * T, 65535)));
  launch_pdl(ctx, conv_outputs_kernel, out_grid, kThreads, 0, "causal conv (outputs)", x, ldx, y, ldy, B, T, C, K, w,
             bias, streams, state_offset, silu);
  if (K > 1) {
    conv_state_kernel<<<col_grid, kThreads, 0, ctx.stream>>>(x, ldx, B, T, C, K, streams, state_offset);
    check_launch("causal conv (state)");
  }
}

}  // namespace seqc::cuda
