// vmath on one lane at a time: the reference the vector ISAs match bit for bit.
#include <bit>
#include <cmath>

#include "cpu/vmath_isa.hpp"
#include "cpu/vmath_lanes.hpp"

namespace seqc::cpu::detail {

namespace {

struct Lane {
  using F = float;
  using M = bool;
  using I = int32_t;
  static constexpr int W = 1;

  static F load(const float* p) { return *p; }
  static void store(float* p, F v) { *p = v; }
  static M first_n(int n) { return n > 0; }
  static F load_n(const float* p, int n) { return n > 0 ? *p : 0.0f; }
  static void store_n(float* p, F v, int n) {
    if (n > 0) *p = v;
  }
  static F set1(float a) { return a; }
  static I iset1(int32_t a) { return a; }

  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F div(F a, F b) { return a / b; }
  static F fma(F a, F b, F c) { return std::fma(a, b, c); }
  static F min(F a, F b) { return a < b ? a : b; }
  static F max(F a, F b) { return a > b ? a : b; }

  static M lt(F a, F b) { return a < b; }
  static M isnan(F a) { return a != a; }
  static F select(M m, F a, F b) { return m ? a : b; }

  static F band(F a, F b) { return std::bit_cast<F>(std::bit_cast<uint32_t>(a) & std::bit_cast<uint32_t>(b)); }
  static F bor(F a, F b) { return std::bit_cast<F>(std::bit_cast<uint32_t>(a) | std::bit_cast<uint32_t>(b)); }
  static F bxor(F a, F b) { return std::bit_cast<F>(std::bit_cast<uint32_t>(a) ^ std::bit_cast<uint32_t>(b)); }

  static I bits(F a) { return std::bit_cast<I>(a); }
  static F from_bits(I a) { return std::bit_cast<F>(a); }
  // Two's-complement wrap-around like the vector instructions (never reached
  // by the values used, but signed overflow would be undefined).
  static I iadd(I a, I b) { return static_cast<I>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b)); }
  static I isub(I a, I b) { return static_cast<I>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b)); }
  template <int S>
  static I sra(I a) { return a >> S; }
  template <int S>
  static I sll(I a) { return static_cast<I>(static_cast<uint32_t>(a) << S); }
};

}  // namespace

const VmathKernels& vmath_kernels_scalar() {
  static constexpr VmathKernels k = lanes::make_kernels<Lane>(Isa::scalar);
  return k;
}

}  // namespace seqc::cpu::detail
