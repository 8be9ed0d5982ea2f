// Token sampling: greedy, temperature, top-k, top-p, driven by a seeded
// xoshiro256** generator that lives in the stream (and so in snapshots).
#pragma once

#include <cstddef>
#include <cstdint>

namespace seqc {

class Workspace;

struct SamplingParams {
  float temperature = 0.0f;  // 0: greedy
  int32_t top_k = 0;         // 0: all
  float top_p = 1.0f;        // 1: all
};

// Throws Code::invalid_argument for NaN, negative or out-of-range values.
void check_sampling(const SamplingParams& p);

class Rng {
 public:
  void seed(uint64_t seed) noexcept;  // splitmix64 expansion
  uint64_t next() noexcept;
  double uniform() noexcept;  // [0, 1) with 53 random bits
  uint64_t s[4] = {0, 0, 0, 0};
};

// Scratch bytes sample_token needs for a vocabulary of n.
size_t sampler_scratch_bytes(int64_t n);

// Picks a token from n logits. Greedy takes the largest logit, the lowest id
// on ties, ignoring NaN (all NaN gives 0). Otherwise: scale by 1/temperature,
// keep the top_k largest, keep the smallest prefix (by decreasing
// probability, ties by id) reaching top_p, and draw one with rng. Consumes
// exactly one rng value when temperature > 0 and none when greedy.
int32_t sample_token(const float* logits, int64_t n, const SamplingParams& p, Rng& rng,
                     Workspace& ws);

}  // namespace seqc
