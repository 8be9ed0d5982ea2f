// cpu/vmath: every ISA bitwise equal to the scalar lanes for every length and
// edge input; accuracy against double precision; the canonical reduction order.
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ios>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cpu/vmath.hpp"

using namespace seqc::cpu;
using detail::VmathKernels;

namespace {

std::vector<Isa> available_isas() {
  std::vector<Isa> v;
  for (int i = 0; i <= static_cast<int>(detected_isa()); ++i) v.push_back(static_cast<Isa>(i));
  return v;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

using Unary = void (*)(const float*, float*, int64_t);

struct UnaryCase {
  const char* name;
  Unary VmathKernels::*fn;
  double (*ref)(double);
};

double ref_exp(double x) { return std::exp(x); }
double ref_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double ref_tanh(double x) { return std::tanh(x); }
double ref_silu(double x) { return x / (1.0 + std::exp(-x)); }
// 0.5 x (1 + tanh u) as x / (1 + e^-2u): the tanh form cancels to 0 in double
// for x below about -4.5, where the float result is still accurate.
double ref_gelu(double x) {
  const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return x / (1.0 + std::exp(-2.0 * u));
}

const UnaryCase kUnary[] = {
    {"exp", &VmathKernels::exp, ref_exp},
    {"sigmoid", &VmathKernels::sigmoid, ref_sigmoid},
    {"tanh", &VmathKernels::tanh, ref_tanh},
    {"silu", &VmathKernels::silu, ref_silu},
    {"gelu_tanh", &VmathKernels::gelu_tanh, ref_gelu},
};

std::vector<float> edge_values() {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {0.0f, 1e-45f, 1e-40f, FLT_MIN, 1e-30f, 1e-10f, 1e-5f, 0.1f, 0.5f, 0.625f,
                          std::nextafter(0.625f, 0.0f), std::nextafter(0.625f, 1.0f), 1.0f, 2.0f, 9.0f, 10.0f,
                          20.0f, 44.0f, 45.0f, 80.0f, 87.3f, 88.72f, 88.7228f, 88.72284f, 88.73f, 89.0f, 90.0f,
                          100.0f, 103.97f, 103.98f, 104.0f, 105.0f, 1e10f, 1e20f, FLT_MAX, inf};
  const size_t n = v.size();
  for (size_t i = 0; i < n; ++i) v.push_back(-v[i]);
  v.push_back(std::numeric_limits<float>::quiet_NaN());
  v.push_back(-std::numeric_limits<float>::quiet_NaN());
  v.push_back(from_bits(0x7fc01234));  // NaN with a payload
  v.push_back(from_bits(0x7f800001));  // signalling NaN
  v.push_back(from_bits(0x00000001));  // smallest subnormal
  v.push_back(from_bits(0x807fffff));  // largest negative subnormal
  return v;
}

// Random inputs mixing edge values with values of every magnitude.
std::vector<float> mixed_inputs(size_t n, std::mt19937& rng) {
  static const std::vector<float> edges = edge_values();
  std::uniform_real_distribution<float> wide(-100.0f, 100.0f), narrow(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) {
    const uint32_t pick = rng() % 8;
    x = pick == 0 ? edges[rng() % edges.size()] : pick < 4 ? wide(rng) : pick < 7 ? narrow(rng) : from_bits(uint32_t(rng()));
  }
  return v;
}

// One ulp of the float nearest to r (r normal).
double ulp_of(double r) {
  int e;
  std::frexp(r, &e);
  return std::ldexp(1.0, e - 24);
}

// Calls f on every `stride`-th positive float in [lo, hi] and on its negative.
template <class F>
void sweep(float lo, float hi, uint32_t stride, F f) {
  for (uint64_t u = bits(lo); u <= bits(hi); u += stride) {
    f(from_bits(uint32_t(u)));
    f(-from_bits(uint32_t(u)));
  }
}

// The canonical reduction order of vmath.hpp, written out in the test.
template <class Step, class Combine>
float canonical(int64_t n, float init, Step step, Combine combine) {
  float lane[16];
  for (float& l : lane) l = init;
  for (int64_t i = 0; i < n; ++i) lane[i % 16] = step(lane[i % 16], i);
  for (int s = 8; s >= 1; s /= 2)
    for (int i = 0; i < s; ++i) lane[i] = combine(lane[i], lane[i + s]);
  return lane[0];
}

}  // namespace

TEST_CASE("cpu/vmath/bitwise_across_isas") {
  MESSAGE("ISAs compared: up to " << std::string(isa_name(detected_isa())) << ", active "
                                  << std::string(isa_name(active_isa())));
  std::mt19937 rng(10);
  const auto& ref = detail::vmath_kernels(Isa::scalar);
  for (int64_t n = 0; n <= 100; ++n)
    for (int offset = 0; offset < 2; ++offset) {
      const auto xs = mixed_inputs(size_t(n + 1), rng);
      const float* x = xs.data() + offset;
      const int64_t len = n + 1 - offset;
      for (const UnaryCase& u : kUnary) {
        std::vector<float> want(size_t(len) + 1, 42.0f);
        (ref.*u.fn)(x, want.data(), len);
        for (Isa isa : available_isas()) {
          std::vector<float> got(size_t(len) + 1, 42.0f);  // the sentinel must survive
          (detail::vmath_kernels(isa).*u.fn)(x, got.data(), len);
          INFO(std::string(u.name) << " isa " << std::string(isa_name(isa)) << " n " << len);
          CHECK(std::memcmp(got.data(), want.data(), got.size() * 4) == 0);
          std::vector<float> inplace(x, x + len);  // x == y
          inplace.push_back(0.0f);                 // never empty: data() is not null
          (detail::vmath_kernels(isa).*u.fn)(inplace.data(), inplace.data(), len);
          CHECK(std::memcmp(inplace.data(), want.data(), size_t(len) * 4) == 0);
        }
      }
    }
}

TEST_CASE("cpu/vmath/edge_values") {
  const auto xs = edge_values();
  const int64_t n = int64_t(xs.size());
  const float inf = std::numeric_limits<float>::infinity();
  for (Isa isa : available_isas()) {
    const auto& k = detail::vmath_kernels(isa);
    INFO("isa " << std::string(isa_name(isa)));
    std::vector<float> e(xs.size()), s(xs.size()), t(xs.size()), si(xs.size()), g(xs.size());
    k.exp(xs.data(), e.data(), n);
    k.sigmoid(xs.data(), s.data(), n);
    k.tanh(xs.data(), t.data(), n);
    k.silu(xs.data(), si.data(), n);
    k.gelu_tanh(xs.data(), g.data(), n);
    for (size_t i = 0; i < xs.size(); ++i) {
      const float x = xs[i];
      INFO("x = " << x << " (0x" << std::hex << bits(x) << std::dec << ")");
      if (std::isnan(x)) {
        // The input NaN, quieted.
        const uint32_t q = bits(x) | 0x00400000u;
        CHECK(bits(e[i]) == q);
        CHECK(bits(s[i]) == q);
        CHECK(bits(t[i]) == q);
        CHECK(bits(si[i]) == q);
        CHECK(bits(g[i]) == q);
        continue;
      }
      CHECK(!std::isnan(e[i]));
      CHECK(!std::isnan(s[i]));
      CHECK(!std::isnan(t[i]));
      CHECK(!std::isnan(si[i]));
      CHECK(!std::isnan(g[i]));
      if (x > 88.7229f) CHECK(e[i] == inf);
      if (x < -103.98f) CHECK(bits(e[i]) == 0);
      if (x >= -87.33f && x <= 88.72f) CHECK(std::isnormal(e[i]));
      if (x == 0.0f) CHECK(e[i] == 1.0f);
      CHECK(s[i] >= 0.0f);
      CHECK(s[i] <= 1.0f);
      if (x > 20.0f) CHECK(s[i] == 1.0f);
      if (x < -104.0f) CHECK(bits(s[i]) == 0);
      CHECK(std::fabs(t[i]) <= 1.0f);
      CHECK(std::signbit(t[i]) == std::signbit(x));  // odd, also at +-0
      if (std::fabs(x) < 1e-5f) CHECK(bits(t[i]) == bits(x));  // tanh(x) = x for tiny x
      if (std::fabs(x) > 9.02f) CHECK(std::fabs(t[i]) == 1.0f);
      if (x == inf) {
        CHECK(si[i] == inf);
        CHECK(g[i] == inf);
      }
      if (x < -200.0f) {  // -inf included: -0, not NaN
        CHECK(bits(si[i]) == bits(-0.0f));
        CHECK(bits(g[i]) == bits(-0.0f));
      }
    }
  }
}

TEST_CASE("cpu/vmath/accuracy") {
  const auto& k = detail::vmath_kernels(active_isa());
  constexpr size_t kBatch = 4096;
  std::vector<float> xs, ys;
  xs.reserve(kBatch);
  ys.resize(kBatch);
  // Gathers inputs and evaluates them in batches through the active ISA.
  auto run = [&](Unary fn, auto check, float lo, float hi, uint32_t stride) {
    auto flush = [&] {
      fn(xs.data(), ys.data(), int64_t(xs.size()));
      for (size_t i = 0; i < xs.size(); ++i) check(xs[i], ys[i]);
      xs.clear();
    };
    sweep(lo, hi, stride, [&](float x) {
      xs.push_back(x);
      if (xs.size() == kBatch) flush();
    });
    if (!xs.empty()) flush();
  };

  SUBCASE("exp") {
    double worst_ulp = 0, worst_sub = 0;
    run(k.exp, [&](float x, float y) {
      const double r = std::exp(double(x));
      if (x >= -87.3f && x <= 88.7f) worst_ulp = std::max(worst_ulp, std::fabs(double(y) - r) / ulp_of(r));
      else if (x < -87.3f) worst_sub = std::max(worst_sub, std::fabs(double(y) - r) / std::ldexp(1.0, -149));
      else if (x > 88.7f && r < FLT_MAX) worst_ulp = std::max(worst_ulp, std::fabs(double(y) - r) / ulp_of(r));
    }, 1e-30f, 110.0f, 61);
    MESSAGE("exp: max " << worst_ulp << " ulp on normal results, " << worst_sub << " subnormal ulp below");
    CHECK(worst_ulp <= 2.0);
    CHECK(worst_sub <= 1.0);
  }
  SUBCASE("sigmoid") {
    double worst_abs = 0, worst_rel = 0;
    run(k.sigmoid, [&](float x, float y) {
      const double r = ref_sigmoid(double(x));
      worst_abs = std::max(worst_abs, std::fabs(double(y) - r));
      if (r > 1e-30) worst_rel = std::max(worst_rel, std::fabs(double(y) - r) / r);
    }, 1e-30f, 120.0f, 61);
    MESSAGE("sigmoid: max abs error " << worst_abs << ", max rel error " << worst_rel);
    CHECK(worst_abs <= 2e-7);
    CHECK(worst_rel <= 4e-7);
  }
  SUBCASE("tanh") {
    double worst_abs = 0, worst_rel_small = 0;
    run(k.tanh, [&](float x, float y) {
      const double r = std::tanh(double(x));
      worst_abs = std::max(worst_abs, std::fabs(double(y) - r));
      if (std::fabs(x) < 0.625f) worst_rel_small = std::max(worst_rel_small, std::fabs(double(y) - r) / std::fabs(r));
    }, 1e-30f, 20.0f, 61);
    MESSAGE("tanh: max abs error " << worst_abs << ", max rel error below 0.625: " << worst_rel_small);
    CHECK(worst_abs <= 2e-7);
    CHECK(worst_rel_small <= 3e-7);
  }
  // For large negative x both results are e^(large negative) scaled: the
  // float rounding of the exponent argument w (a few ulp of |w|) shows as a
  // relative error of about |w| ulp, for gelu up to ~1e-5 where |w| ~ 70 and
  // the result is below 1e-20.
  SUBCASE("silu and gelu_tanh") {
    const double rel_bound[2] = {1e-6, 3e-5};
    for (int which = 0; which < 2; ++which) {
      const UnaryCase* u = &kUnary[3 + which];
      double worst_rel = 0, worst_abs = 0;
      run(k.*(u->fn), [&](float x, float y) {
        const double r = u->ref(double(x));
        const double err = std::fabs(double(y) - r);
        worst_abs = std::max(worst_abs, err / std::max(1.0, std::fabs(r)));
        if (std::fabs(r) > 1e-30) worst_rel = std::max(worst_rel, err / std::fabs(r));
      }, 1e-30f, 100.0f, 61);
      MESSAGE(std::string(u->name) << ": max error " << worst_abs
                                   << " (relative above 1, absolute below), max rel error " << worst_rel);
      CHECK(worst_abs <= 3e-7);
      CHECK(worst_rel <= rel_bound[which]);
    }
  }
}

TEST_CASE("cpu/vmath/reductions_canonical_order") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> d(-2.0f, 2.0f);
  std::vector<int64_t> lengths;
  for (int64_t n = 0; n <= 100; ++n) lengths.push_back(n);
  for (int64_t n : {255, 256, 257, 1000, 4099}) lengths.push_back(n);
  for (int64_t n : lengths) {
    std::vector<float> a(size_t(n) + 1), b(size_t(n) + 1);
    for (auto& v : a) v = d(rng);
    for (auto& v : b) v = d(rng);
    if (n > 3) a[size_t(rng() % n)] = -0.0f;
    const float sum = canonical(n, 0.0f, [&](float l, int64_t i) { return l + a[size_t(i)]; },
                                [](float p, float q) { return p + q; });
    const float dot = canonical(n, 0.0f, [&](float l, int64_t i) { return std::fma(a[size_t(i)], b[size_t(i)], l); },
                                [](float p, float q) { return p + q; });
    const float sumsq = canonical(n, 0.0f, [&](float l, int64_t i) { return std::fma(a[size_t(i)], a[size_t(i)], l); },
                                  [](float p, float q) { return p + q; });
    const float mx = canonical(n, -INFINITY, [&](float l, int64_t i) { return a[size_t(i)] > l ? a[size_t(i)] : l; },
                               [](float p, float q) { return q > p ? q : p; });
    for (Isa isa : available_isas()) {
      const auto& k = detail::vmath_kernels(isa);
      INFO("isa " << std::string(isa_name(isa)) << " n " << n);
      CHECK(bits(k.sum(a.data(), n)) == bits(sum));
      CHECK(bits(k.dot(a.data(), b.data(), n)) == bits(dot));
      CHECK(bits(k.sumsq(a.data(), n)) == bits(sumsq));
      CHECK(bits(k.max(a.data(), n)) == bits(mx));
      // Misaligned by one float.
      CHECK(bits(k.sum(a.data() + 1, n)) == bits(detail::vmath_kernels(Isa::scalar).sum(a.data() + 1, n)));
    }
  }
}

TEST_CASE("cpu/vmath/reductions_special_values") {
  const float inf = std::numeric_limits<float>::infinity();
  for (Isa isa : available_isas()) {
    const auto& k = detail::vmath_kernels(isa);
    INFO("isa " << std::string(isa_name(isa)));
    CHECK(bits(k.sum(nullptr, 0)) == bits(0.0f));
    CHECK(k.max(nullptr, 0) == -inf);
    for (int64_t n : {1, 7, 16, 17, 40}) {
      std::vector<float> z(size_t(n), -0.0f);
      CHECK(bits(k.sum(z.data(), n)) == bits(0.0f));  // lanes start at +0
      CHECK(bits(k.sumsq(z.data(), n)) == bits(0.0f));
      CHECK(bits(k.max(z.data(), n)) == bits(-0.0f));
      std::vector<float> m(size_t(n), -inf);
      CHECK(k.max(m.data(), n) == -inf);
      for (int64_t at = 0; at < n; at += 3) {
        std::vector<float> x(size_t(n), 1.0f);
        x[size_t(at)] = std::numeric_limits<float>::quiet_NaN();
        if (at + 1 < n) x[size_t(at + 1)] = 5.0f;
        CHECK(bits(k.max(x.data(), n)) == 0x7fc00000u);
        x[size_t(at)] = -std::numeric_limits<float>::quiet_NaN();
        CHECK(bits(k.max(x.data(), n)) == 0x7fc00000u);
        CHECK(std::isnan(k.sum(x.data(), n)));
      }
    }
    const float pz[2] = {-0.0f, 0.0f}, zp[2] = {0.0f, -0.0f};
    CHECK(bits(k.max(pz, 2)) == bits(-0.0f));  // ties keep the lower lane
    CHECK(bits(k.max(zp, 2)) == bits(0.0f));
  }
}

TEST_CASE("cpu/vmath/elementwise_helpers") {
  std::mt19937 rng(12);
  for (int64_t n = 0; n <= 70; ++n) {
    const auto a = mixed_inputs(size_t(n), rng), b = mixed_inputs(size_t(n), rng);
    const float s = 0.37f;
    std::vector<float> add(static_cast<size_t>(n)), mul(add), scale(add), axpy(add);
    for (int64_t i = 0; i < n; ++i) {
      add[size_t(i)] = a[size_t(i)] + b[size_t(i)];
      mul[size_t(i)] = a[size_t(i)] * b[size_t(i)];
      scale[size_t(i)] = a[size_t(i)] * s;
      axpy[size_t(i)] = std::fma(s, a[size_t(i)], b[size_t(i)]);
    }
    auto same = [](const std::vector<float>& x, const std::vector<float>& y) {
      for (size_t i = 0; i < x.size(); ++i)
        if (bits(x[i]) != bits(y[i]) && !(std::isnan(x[i]) && std::isnan(y[i]))) return false;
      return true;
    };
    for (Isa isa : available_isas()) {
      const auto& k = detail::vmath_kernels(isa);
      INFO("isa " << std::string(isa_name(isa)) << " n " << n);
      std::vector<float> y(static_cast<size_t>(n));
      k.add(a.data(), b.data(), y.data(), n);
      CHECK(same(y, add));
      k.mul(a.data(), b.data(), y.data(), n);
      CHECK(same(y, mul));
      k.scale(a.data(), s, y.data(), n);
      CHECK(same(y, scale));
      y = b;
      k.axpy(s, a.data(), y.data(), n);
      CHECK(same(y, axpy));
    }
  }
}

TEST_CASE("cpu/vmath/dispatch") {
  CHECK(static_cast<int>(active_isa()) <= static_cast<int>(detected_isa()));
  CHECK(detail::vmath_kernels(active_isa()).isa == active_isa());
  CHECK(detail::vmath_kernels(Isa::avx512).isa == detected_isa());  // clamped to what exists
  const float x[3] = {0.0f, 1.0f, -1.0f};
  float y[3];
  vexp(x, y, 3);
  CHECK(y[0] == 1.0f);
  CHECK(vsum(x, 3) == 0.0f);
  CHECK(std::string(isa_name(Isa::avx2)) == "avx2");
}
