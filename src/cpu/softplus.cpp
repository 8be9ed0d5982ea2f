// softplus (softplus.hpp): written once, compiled for the baseline and, through
// the target attribute, for AVX-512; both give the same bits (integer selects
// and IEEE double operations only).
#include "cpu/softplus.hpp"

#include <algorithm>
#include <bit>

#include "cpu/cpu_features.hpp"
#include "cpu/vmath.hpp"

namespace seqc::cpu {

namespace {

constexpr int64_t kBlock = 64;

#define SEQC_ALWAYS_INLINE [[gnu::always_inline]] inline

// log(w) for w >= 1 (finite), in double: w = m 2^k with m in [sqrt(1/2), sqrt(2)),
// log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.1716, by its series to
// s^15 (truncation below 1e-13 relative). Our own code, not libm: the same
// bits on every machine. (Integer selects only, so the loops around it
// vectorise without speculating floating-point compares.)
SEQC_ALWAYS_INLINE double log_ge1(double w) {
  const uint64_t bits = std::bit_cast<uint64_t>(w);
  const uint64_t mant = bits & 0x000fffffffffffffull;
  const uint64_t hi = mant > 0x6a09e667f3bcdull ? 1 : 0;  // m > sqrt(2): use m / 2, k + 1
  const double m = std::bit_cast<double>(mant | (0x3ff0000000000000ull - (hi << 52)));
  const double k = double(int64_t(bits >> 52) - 1023 + int64_t(hi));
  const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  const double p = s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11 +
                   s2 * (1.0 / 13 + s2 * (1.0 / 15)))))));
  const double two_s = s + s;
  return k * 0.6931471805599453 + (two_s + two_s * p);
}

// softplus(x) = log(1 + e^x), and x itself above 20 (PyTorch's threshold);
// ex = e^x from cpu::vexp. log1p(u) = log(1 + u) * u / ((1 + u) - 1) in
// double (u itself where 1 + u rounds to 1), so the result is within about
// one float ulp of the true value (the error of e^x carried through). NaN
// stays NaN.
SEQC_ALWAYS_INLINE float softplus_from(float x, float ex) {
  const double u = double(ex);
  const double w = 1.0 + u;
  const double d = w - 1.0;  // exact
  // Bit masks instead of branches: every value is computed, the loop
  // vectorises (d = 0 gives a harmless u / 1).
  const uint64_t tiny = d == 0.0 ? ~0ull : 0ull;
  const double q = u / std::bit_cast<double>(std::bit_cast<uint64_t>(d) | (tiny & 0x3ff0000000000000ull));
  const double l = log_ge1(w) * q;
  const double r = std::bit_cast<double>((std::bit_cast<uint64_t>(u) & tiny) | (std::bit_cast<uint64_t>(l) & ~tiny));
  // x > 20 on the bits (20.0f = 0x41a00000; negative x are negative ints).
  const uint32_t big = std::bit_cast<int32_t>(x) > 0x41a00000 ? ~0u : 0u;
  return std::bit_cast<float>((std::bit_cast<uint32_t>(x) & big) | (std::bit_cast<uint32_t>(float(r)) & ~big));
}

// dt[i] = softplus(dt[i]) for n values, kBlock at a time.
SEQC_ALWAYS_INLINE void softplus_body(float* dt, int64_t n) {
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t m = std::min(kBlock, n - i0);
    float* v = dt + i0;
    alignas(64) float tmp[kBlock];
    vexp(v, tmp, m);
    for (int64_t i = 0; i < m; ++i) v[i] = softplus_from(v[i], tmp[i]);
  }
}

void softplus_generic(float* x, int64_t n) { softplus_body(x, n); }

#if defined(__x86_64__) && defined(__GNUC__)
#define SEQC_SOFTPLUS_AVX512 1
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq"))) void softplus_avx512(float* x, int64_t n) {
  softplus_body(x, n);
}
#endif

}  // namespace

void vsoftplus(float* x, int64_t n) {
  static void (*const fn)(float*, int64_t) = [] {
#ifdef SEQC_SOFTPLUS_AVX512
    if (active_isa() == Isa::avx512) return softplus_avx512;
#endif
    return softplus_generic;
  }();
  fn(x, n);
}

}  // namespace seqc::cpu
