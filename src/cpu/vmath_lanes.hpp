// The operation sequences of vmath.hpp, written once over a lane type V so that
// the scalar code and every vector ISA perform the very same IEEE operations.
// Included only by vmath_scalar.cpp, vmath_avx2.cpp and vmath_avx512.cpp, each
// with its own V in an anonymous namespace: every instantiation is private to
// its file, so no function compiled with AVX flags can be shared by the linker
// with code that runs on a lesser CPU (hence also no std:: helpers here).
//
// V provides, on W lanes (F: floats, M: lane mask, I: int32 lanes):
//   load(p), store(p, f), first_n(n) (lanes [0, n)), load_n(p, n) (other lanes
//   +0, nothing read there), store_n(p, f, n) (nothing written there);
//   set1(float), iset1(int32);
//   add, sub, mul, div (IEEE, correctly rounded), fma(a, b, c) = a * b + c
//   rounded once;
//   min(a, b) = a < b ? a : b, max(a, b) = a > b ? a : b (the x86 minps/maxps
//   rule: NaNs and ties give b);
//   lt(a, b) (ordered <), isnan(a), select(m, a, b) = m ? a : b;
//   band, bor, bxor on the bit patterns;
//   bits(f), from_bits(i), iadd, isub, sra<s>(i), sll<s>(i) on int32 lanes.
#pragma once

#include <cstdint>

#include "cpu/vmath.hpp"

namespace seqc::cpu::detail::lanes {

// exp: x = n ln2 + r, |r| <= ln2 / 2, e^r by the Cephes expf polynomial.
inline constexpr float kExpLo = -104.0f;  // e^x rounds to +0 below -103.97
inline constexpr float kExpHi = 89.0f;    // e^x is +inf above 88.73
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kRoundShift = 12582912.0f;  // 1.5 * 2^23: t + shift rounds t to an integer
inline constexpr float kLn2Hi = 0.693359375f;      // 9 bits: n * kLn2Hi is exact
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kExpP0 = 1.9875691500e-4f;
inline constexpr float kExpP1 = 1.3981999507e-3f;
inline constexpr float kExpP2 = 8.3334519073e-3f;
inline constexpr float kExpP3 = 4.1665795894e-2f;
inline constexpr float kExpP4 = 1.6666665459e-1f;
inline constexpr float kExpP5 = 5.0000001201e-1f;
// tanh below |x| = 0.625: x + x^3 P(x^2) (Cephes tanhf).
inline constexpr float kTanhSmall = 0.625f;
inline constexpr float kTanhP0 = -5.70498872745e-3f;
inline constexpr float kTanhP1 = 2.06390887954e-2f;
inline constexpr float kTanhP2 = -5.37397155531e-2f;
inline constexpr float kTanhP3 = 1.33314422036e-1f;
inline constexpr float kTanhP4 = -3.33332819422e-1f;
// gelu_tanh: u = sqrt(2/pi) (x + 0.044715 x^3), and e^-2u.
inline constexpr float kGeluCubic = 0.044715f;
inline constexpr float kGeluMinus2C = -1.59576912160573071f;  // -2 sqrt(2/pi)
inline constexpr float kLowest = -3.40282347e+38f;

// e^x for non-NaN x (NaN lanes give garbage, replaced by nan_pass).
template <class V>
[[gnu::always_inline]] inline typename V::F exp_nonnan(typename V::F x) {
  using F = typename V::F;
  using I = typename V::I;
  x = V::max(x, V::set1(kExpLo));
  x = V::min(x, V::set1(kExpHi));
  // n = round-to-nearest-even(x log2 e), read off the low bits of j.
  const F j = V::add(V::mul(x, V::set1(kLog2e)), V::set1(kRoundShift));
  const F n = V::sub(j, V::set1(kRoundShift));
  F r = V::fma(n, V::set1(-kLn2Hi), x);
  r = V::fma(n, V::set1(-kLn2Lo), r);
  F q = V::fma(V::set1(kExpP0), r, V::set1(kExpP1));
  q = V::fma(q, r, V::set1(kExpP2));
  q = V::fma(q, r, V::set1(kExpP3));
  q = V::fma(q, r, V::set1(kExpP4));
  q = V::fma(q, r, V::set1(kExpP5));
  F p = V::fma(q, V::mul(r, r), r);
  p = V::add(p, V::set1(1.0f));
  // p * 2^n as (p * 2^n1) * 2^n2 with n1 = n >> 1: both factors are normal
  // for n in [-150, 129], the first product is exact, the second rounds once
  // (also into the subnormals, or to +inf).
  const I ni = V::isub(V::bits(j), V::bits(V::set1(kRoundShift)));
  const I n1 = V::template sra<1>(ni);
  const I n2 = V::isub(ni, n1);
  const F s1 = V::from_bits(V::template sll<23>(V::iadd(n1, V::iset1(127))));
  const F s2 = V::from_bits(V::template sll<23>(V::iadd(n2, V::iset1(127))));
  return V::mul(V::mul(p, s1), s2);
}

// y, except x + x (x quieted) where x is NaN.
template <class V>
[[gnu::always_inline]] inline typename V::F nan_pass(typename V::F x, typename V::F y) {
  return V::select(V::isnan(x), V::add(x, x), y);
}

template <class V>
[[gnu::always_inline]] inline typename V::F neg(typename V::F x) {
  return V::bxor(x, V::set1(-0.0f));
}

template <class V>
typename V::F exp(typename V::F x) {
  return nan_pass<V>(x, exp_nonnan<V>(x));
}

template <class V>
typename V::F sigmoid(typename V::F x) {
  const auto one = V::set1(1.0f);
  return nan_pass<V>(x, V::div(one, V::add(one, exp_nonnan<V>(neg<V>(x)))));
}

// Computed on |x| (both branches, as a vector must), then given x's sign, so
// that tanh(-0) = -0 and the result is odd exactly.
template <class V>
typename V::F tanh(typename V::F x) {
  using F = typename V::F;
  const F one = V::set1(1.0f);
  const F a = V::band(x, V::from_bits(V::iset1(0x7fffffff)));
  const F z = V::mul(a, a);
  F q = V::fma(V::set1(kTanhP0), z, V::set1(kTanhP1));
  q = V::fma(q, z, V::set1(kTanhP2));
  q = V::fma(q, z, V::set1(kTanhP3));
  q = V::fma(q, z, V::set1(kTanhP4));
  const F small = V::fma(V::mul(q, z), a, a);
  const F e = exp_nonnan<V>(V::add(a, a));
  const F large = V::sub(one, V::div(V::set1(2.0f), V::add(e, one)));
  F y = V::select(V::lt(a, V::set1(kTanhSmall)), small, large);
  y = V::bor(y, V::band(x, V::set1(-0.0f)));
  return nan_pass<V>(x, y);
}

// x / (1 + e^-x); the numerator is max(x, lowest) so that -inf gives -0 rather
// than -inf / inf.
template <class V>
typename V::F silu(typename V::F x) {
  const auto one = V::set1(1.0f);
  const auto e = exp_nonnan<V>(neg<V>(x));
  return nan_pass<V>(x, V::div(V::max(x, V::set1(kLowest)), V::add(one, e)));
}

// x / (1 + e^-2u) with -2u = (x (1 + 0.044715 x^2)) * (-2 sqrt(2/pi)).
template <class V>
typename V::F gelu_tanh(typename V::F x) {
  const auto one = V::set1(1.0f);
  const auto p = V::fma(V::mul(x, x), V::set1(kGeluCubic), one);
  const auto e = exp_nonnan<V>(V::mul(V::mul(x, p), V::set1(kGeluMinus2C)));
  return nan_pass<V>(x, V::div(V::max(x, V::set1(kLowest)), V::add(one, e)));
}

// y[i] = f(x[i]); the tail goes through the same lanes, masked. Two vectors
// per iteration: their independent chains overlap better than the
// out-of-order window manages across iterations (about 1.4x for exp).
template <class V, class Fn>
[[gnu::always_inline]] inline void map(const float* x, float* y, int64_t n, Fn f) {
  int64_t i = 0;
  for (; i + 2 * V::W <= n; i += 2 * V::W) {
    const auto a = f(V::load(x + i)), b = f(V::load(x + i + V::W));
    V::store(y + i, a);
    V::store(y + i + V::W, b);
  }
  for (; i + V::W <= n; i += V::W) V::store(y + i, f(V::load(x + i)));
  if (i < n) {
    const int r = static_cast<int>(n - i);
    V::store_n(y + i, f(V::load_n(x + i, r)), r);
  }
}

template <class V, class Fn>
[[gnu::always_inline]] inline void map2(const float* a, const float* b, float* y, int64_t n, Fn f) {
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) V::store(y + i, f(V::load(a + i), V::load(b + i)));
  if (i < n) {
    const int r = static_cast<int>(n - i);
    V::store_n(y + i, f(V::load_n(a + i, r), V::load_n(b + i, r)), r);
  }
}

// The 16 lanes of the canonical reduction order (vmath.hpp): lane = step(lane,
// a[i], b[i]) for element i in lane i % 16. 16 / W vectors hold the lanes; a
// tail leaves the lanes it does not reach untouched.
template <class V, class Step>
[[gnu::always_inline]] inline void lanes16(float out[16], float init, const float* a, const float* b,
                                           int64_t n, Step step) {
  constexpr int NV = 16 / V::W;
  typename V::F acc[NV];
  for (int j = 0; j < NV; ++j) acc[j] = V::set1(init);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < NV; ++j) acc[j] = step(acc[j], V::load(a + i + j * V::W), V::load(b + i + j * V::W));
  for (int j = 0; j < NV && i + j * V::W < n; ++j) {
    const int64_t left = n - i - j * V::W;
    const int c = left < V::W ? static_cast<int>(left) : V::W;
    const auto xa = V::load_n(a + i + j * V::W, c), xb = V::load_n(b + i + j * V::W, c);
    acc[j] = V::select(V::first_n(c), step(acc[j], xa, xb), acc[j]);
  }
  for (int j = 0; j < NV; ++j) V::store(out + j * V::W, acc[j]);
}

// lane[i] = combine(lane[i], lane[i + s]) for s = 8, 4, 2, 1.
template <class V, class Combine>
[[gnu::always_inline]] inline float tree16(float l[16], Combine combine) {
  for (int s = 8; s >= 1; s /= 2)
    for (int i = 0; i < s; ++i) l[i] = combine(l[i], l[i + s]);
  return l[0];
}

template <class V>
constexpr VmathKernels make_kernels(Isa isa) {
  using F = typename V::F;
  VmathKernels k{};
  k.isa = isa;
  k.exp = [](const float* x, float* y, int64_t n) { map<V>(x, y, n, [](F v) { return exp<V>(v); }); };
  k.sigmoid = [](const float* x, float* y, int64_t n) { map<V>(x, y, n, [](F v) { return sigmoid<V>(v); }); };
  k.tanh = [](const float* x, float* y, int64_t n) { map<V>(x, y, n, [](F v) { return tanh<V>(v); }); };
  k.silu = [](const float* x, float* y, int64_t n) { map<V>(x, y, n, [](F v) { return silu<V>(v); }); };
  k.gelu_tanh = [](const float* x, float* y, int64_t n) {
    map<V>(x, y, n, [](F v) { return gelu_tanh<V>(v); });
  };
  k.sum = [](const float* x, int64_t n) {
    float l[16];
    lanes16<V>(l, 0.0f, x, x, n, [](F acc, F v, F) { return V::add(acc, v); });
    return tree16<V>(l, [](float p, float q) { return p + q; });
  };
  k.dot = [](const float* a, const float* b, int64_t n) {
    float l[16];
    lanes16<V>(l, 0.0f, a, b, n, [](F acc, F u, F v) { return V::fma(u, v, acc); });
    return tree16<V>(l, [](float p, float q) { return p + q; });
  };
  k.sumsq = [](const float* x, int64_t n) {
    float l[16];
    lanes16<V>(l, 0.0f, x, x, n, [](F acc, F v, F) { return V::fma(v, v, acc); });
    return tree16<V>(l, [](float p, float q) { return p + q; });
  };
  k.max = [](const float* x, int64_t n) {
    // max(v, lane) keeps lane on NaN v and on ties; a NaN is let into the lane
    // explicitly and then stays there (max(v, NaN) = NaN), and in the tree.
    float l[16];
    lanes16<V>(l, -__builtin_inff(), x, x, n,
               [](F acc, F v, F) { return V::select(V::isnan(v), v, V::max(v, acc)); });
    const float m = tree16<V>(l, [](float p, float q) { return q > p || q != q ? q : p; });
    return m != m ? __builtin_nanf("") : m;
  };
  k.add = [](const float* a, const float* b, float* y, int64_t n) {
    map2<V>(a, b, y, n, [](F u, F v) { return V::add(u, v); });
  };
  k.mul = [](const float* a, const float* b, float* y, int64_t n) {
    map2<V>(a, b, y, n, [](F u, F v) { return V::mul(u, v); });
  };
  k.scale = [](const float* x, float s, float* y, int64_t n) {
    const F sv = V::set1(s);
    map<V>(x, y, n, [sv](F v) { return V::mul(v, sv); });
  };
  k.axpy = [](float a, const float* x, float* y, int64_t n) {
    const F av = V::set1(a);
    map2<V>(x, y, y, n, [av](F u, F v) { return V::fma(av, u, v); });
  };
  return k;
}

}  // namespace seqc::cpu::detail::lanes
