// Causal depthwise 1-D convolution with streaming state: the kernel shared by
// layer/short_conv and the mixers that embed one (Mamba, Mamba-2, the
// linear-attention family).
//
//   y[t, c] = act(bias[c] + sum_{j=0}^{K-1} w[j, c] * x[t - K + 1 + j, c])
//
// where inputs before the first position of the call come from the state,
// which holds the last K-1 inputs, oldest first: state [K-1, C]. The sum runs
// over j = 0..K-1 in that order (oldest tap first), starting from the bias,
// with one rounding per multiply and per add, so a step and any chunking of a
// sequence give the same bits.
//
// Weights are tap-major, w [K, C]: a PyTorch depthwise Conv1d weight
// [C, 1, K] transposed (pack_conv_weight does it).
#pragma once

#include <cstdint>

namespace seqc::conv {

enum class Act { none, silu };

// w_ckk: [C, 1, K] as PyTorch stores it -> out: [K, C].
void pack_conv_weight(const float* w_ckk, int64_t C, int64_t K, float* out);

// One stream, T positions, channels [c0, c1) (so callers can split channels
// across threads; each channel's state is touched only by its range).
//   x: row t at x + t * ldx (C floats used from column 0)
//   y: row t at y + t * ldy; y must not overlap x
//   w: [K, C], bias: [C] or nullptr, state: [K-1, C], updated in place
// act is applied after the bias and the taps.
void causal_conv(const float* x, int64_t ldx, float* y, int64_t ldy, int64_t T, int64_t C, int64_t K,
                 const float* w, const float* bias, float* state, Act act, int64_t c0, int64_t c1);

}  // namespace seqc::conv
