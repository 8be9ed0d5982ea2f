#include "core/sampler.hpp"

#include <algorithm>
#include <cmath>

#include "core/status.hpp"
#include "core/workspace.hpp"
#include "cpu/vmath.hpp"

namespace seqc {

void check_sampling(const SamplingParams& p) {
  if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature))
    fail(Code::invalid_argument, "temperature must be finite and >= 0, got ", p.temperature);
  if (p.temperature != 0.0f && p.temperature < 1e-30f)
    fail(Code::invalid_argument, "temperature must be 0 (greedy) or at least 1e-30, got ",
         p.temperature);
  if (p.top_k < 0) fail(Code::invalid_argument, "top_k must be >= 0, got ", p.top_k);
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
    fail(Code::invalid_argument, "top_p must be in (0, 1], got ", p.top_p);
}

void Rng::seed(uint64_t x) noexcept {
  for (auto& w : s) {  // splitmix64
    x += 0x9e3779b97f4a7c15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    w = z ^ (z >> 31);
  }
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t Rng::next() noexcept {  // xoshiro256**
  const uint64_t result = rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double Rng::uniform() noexcept { return double(next() >> 11) * 0x1.0p-53; }

size_t sampler_scratch_bytes(int64_t n) {
  return align_up(size_t(n) * sizeof(int32_t)) + align_up(size_t(n) * sizeof(float)) + 2 * kAlign;
}

namespace {

// Larger logit first; equal logits by lower id. NaN never reaches here.
struct ByLogit {
  const float* v;
  bool operator()(int32_t a, int32_t b) const { return v[a] > v[b] || (v[a] == v[b] && a < b); }
};

}  // namespace

int32_t sample_token(const float* logits, int64_t n, const SamplingParams& p, Rng& rng,
                     Workspace& ws) {
  SEQC_CHECK(n > 0);
  if (p.temperature == 0.0f) {
    int32_t best = 0;
    float bv = -INFINITY;
    bool found = false;
    for (int64_t i = 0; i < n; ++i) {
      if (std::isnan(logits[i])) continue;
      if (!found || logits[i] > bv) {
        bv = logits[i];
        best = int32_t(i);
        found = true;
      }
    }
    return best;
  }

  const size_t mark = ws.mark();
  int32_t* idx = ws.alloc<int32_t>(size_t(n));
  float* prob = ws.alloc<float>(size_t(n));
  // Candidates: every non-NaN logit.
  int64_t m = 0;
  for (int64_t i = 0; i < n; ++i)
    if (!std::isnan(logits[i])) idx[m++] = int32_t(i);
  if (m == 0) {
    ws.release(mark);
    (void)rng.next();
    return 0;
  }
  // The walk order below is fixed by (logit, id), or by id alone when all
  // candidates are kept, so the draw does not depend on the sort algorithm.
  const ByLogit order{logits};
  const int64_t k = (p.top_k > 0 && p.top_k < m) ? p.top_k : m;
  if (k < m) {
    std::nth_element(idx, idx + k, idx + m, order);
    m = k;
    std::sort(idx, idx + m, order);
  } else if (p.top_p < 1.0f) {
    std::sort(idx, idx + m, order);
  }
  float top = logits[idx[0]];
  for (int64_t j = 1; j < m; ++j) top = std::max(top, logits[idx[j]]);
  if (!std::isfinite(top)) {  // +inf dominates; all -inf leaves nothing to weigh
    int32_t pick = idx[0];
    for (int64_t j = 0; j < m; ++j)
      if (logits[idx[j]] == top) { pick = idx[j]; break; }
    ws.release(mark);
    (void)rng.next();
    return pick;
  }
  // (logit - max) / T <= 0, so a tiny temperature gives -inf, never NaN.
  const float inv_t = 1.0f / p.temperature;
  for (int64_t j = 0; j < m; ++j) prob[j] = (logits[idx[j]] - top) * inv_t;
  cpu::vexp(prob, prob, m);
  double total = 0;
  for (int64_t j = 0; j < m; ++j) total += prob[j];
  if (p.top_p < 1.0f) {
    double acc = 0;
    int64_t keep = m;
    for (int64_t j = 0; j < m; ++j) {
      acc += prob[j];
      if (acc >= double(p.top_p) * total) {
        keep = j + 1;
        break;
      }
    }
    m = keep;
    total = acc;
  }
  const double u = rng.uniform() * total;
  double acc = 0;
  int32_t pick = idx[m - 1];
  for (int64_t j = 0; j < m; ++j) {
    acc += prob[j];
    if (u < acc) {
      pick = idx[j];
      break;
    }
  }
  ws.release(mark);
  return pick;
}

}  // namespace seqc
