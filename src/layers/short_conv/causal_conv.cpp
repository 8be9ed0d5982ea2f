// Causal depthwise convolution (causal_conv.hpp). Channel-vectorised: every
// loop runs over contiguous channels, which the compiler vectorises without
// reassociating anything (each output is its own chain).
#include "layers/short_conv/causal_conv.hpp"

#include <algorithm>
#include <cstring>

#include "cpu/vmath.hpp"

namespace seqc::conv {

void pack_conv_weight(const float* w_ckk, int64_t C, int64_t K, float* out) {
  for (int64_t c = 0; c < C; ++c)
    for (int64_t j = 0; j < K; ++j) out[j * C + c] = w_ckk[c * K + j];
}

namespace {

// Input row at relative position p (p < 0: from the state, p = -1 newest).
inline const float* tap_row(const float* x, int64_t ldx, const float* state, int64_t C, int64_t K, int64_t p) {
  return p >= 0 ? x + p * ldx : state + (K - 1 + p) * C;
}

}  // namespace

void causal_conv(const float* x, int64_t ldx, float* y, int64_t ldy, int64_t T, int64_t C, int64_t K,
                 const float* w, const float* bias, float* state, Act act, int64_t c0, int64_t c1) {
  const int64_t n = c1 - c0;
  if (n <= 0 || T <= 0) return;
  for (int64_t t = 0; t < T; ++t) {
    float* yr = y + t * ldy + c0;
    if (bias) {
      std::memcpy(yr, bias + c0, size_t(n) * sizeof(float));
    } else {
      std::fill(yr, yr + n, 0.0f);
    }
    for (int64_t j = 0; j < K; ++j) {
      const float* xr = tap_row(x, ldx, state, C, K, t - K + 1 + j) + c0;
      const float* wr = w + j * C + c0;
      for (int64_t c = 0; c < n; ++c) {
        const float prod = wr[c] * xr[c];
        yr[c] = yr[c] + prod;
      }
    }
    if (act == Act::silu) cpu::vsilu(yr, yr, n);
  }
  // The new state: the last K-1 inputs (from x, or shifted from the state
  // when T < K-1).
  const int64_t S = K - 1;
  if (S == 0) return;
  if (T >= S) {
    for (int64_t r = 0; r < S; ++r) std::memcpy(state + r * C + c0, x + (T - S + r) * ldx + c0, size_t(n) * 4);
  } else {
    for (int64_t r = 0; r < S - T; ++r) std::memcpy(state + r * C + c0, state + (r + T) * C + c0, size_t(n) * 4);
    for (int64_t r = 0; r < T; ++r) std::memcpy(state + (S - T + r) * C + c0, x + r * ldx + c0, size_t(n) * 4);
  }
}

}  // namespace seqc::conv
