// The causal depthwise convolution of causal_conv.hpp on the device: the
// kernel shared by layer/short_conv and the mixers that embed one (Mamba,
// Mamba-2). Same formula, tap order and state layout as the CPU kernel:
//
//   y[t, c] = act(bias[c] + sum_{j=0}^{K-1} w[j, c] * x[t - K + 1 + j, c])
//
// summed from the bias, oldest tap first, one rounding per multiply and per
// add (no fma), so the output bits equal the CPU's up to the activation
// (silu here uses expf). The state of each stream is [K-1, C], oldest row
// first: the last K-1 inputs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/cuda_common.cuh"
#include "layers/short_conv/causal_conv.hpp"

namespace seqc::cuda {

// B streams of T positions each; row b*T + t of x is at x + (b*T + t) * ldx
// (C floats used from column 0), of y at y + (b*T + t) * ldy. y must not
// overlap x. w [K, C] (tap-major, conv::pack_conv_weight), bias [C] or
// nullptr, all device pointers. With K > 1 the state of stream b is the
// float [K-1, C] at (streams[b] + state_offset) on the device (streams: the
// device array of stream bases), updated in place; with K = 1 there is no
// state and `streams` is not read. Enqueued on c.stream.
void causal_conv(const Ctx& c, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t B, int64_t T,
                 int64_t C, int64_t K, const float* w, const float* bias, std::byte* const* streams,
                 size_t state_offset, conv::Act act);

}  // namespace seqc::cuda
