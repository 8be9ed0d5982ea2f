// The sizes of a recurrent/mamba2 block, derived from its config: shared by the
// CPU (mamba2.cpp) and CUDA (mamba2.cu) implementations.
#pragma once

#include <cstdint>

#include "core/config.hpp"

namespace seqc::mamba2 {

struct Dims {
  int64_t D, Di, N, K, H, P, G;
  int64_t Cd;  // conv channels: x, B and C (Di + 2 G N)
  int64_t NP;  // in_proj rows: z, xBC, dt (Di + Cd + H)
  int64_t gs;  // gated-norm group size (Di when the config says 0)
  int64_t Q;   // SSD chunk size (CPU "ssd" prefill)
};

inline Dims dims(const Config& c) {
  Dims d{};
  d.D = c.i("d_model");
  d.Di = c.i("d_inner");
  d.N = c.i("d_state");
  d.K = c.i("d_conv");
  d.H = c.i("n_heads");
  d.P = c.i("head_dim");
  d.G = c.i("n_groups");
  d.Cd = d.Di + 2 * d.G * d.N;
  d.NP = d.Di + d.Cd + d.H;
  d.gs = c.i("norm_group_size") ? c.i("norm_group_size") : d.Di;
  d.Q = c.i("chunk_size");
  return d;
}

}  // namespace seqc::mamba2
