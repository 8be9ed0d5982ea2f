// vmath on 16 lanes of AVX-512 (compiled with -mavx512f -mavx512bw -mavx512vl
// -mavx512dq -mfma).

// GCC 12 warns about _mm512_undefined_ps() inside its own intrinsics when
// they are inlined (GCC bug 105593); the warning points into the header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "cpu/vmath_isa.hpp"
#include "cpu/vmath_lanes.hpp"

namespace seqc::cpu::detail {

namespace {

struct Lane {
  using F = __m512;
  using M = __mmask16;
  using I = __m512i;
  static constexpr int W = 16;

  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static M first_n(int n) { return static_cast<M>((1u << n) - 1); }
  static F load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(first_n(n), p); }
  static void store_n(float* p, F v, int n) { _mm512_mask_storeu_ps(p, first_n(n), v); }
  static F set1(float a) { return _mm512_set1_ps(a); }
  static I iset1(int32_t a) { return _mm512_set1_epi32(a); }

  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }

  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M isnan(F a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static F select(M m, F a, F b) { return _mm512_mask_blend_ps(m, b, a); }

  static F band(F a, F b) { return _mm512_and_ps(a, b); }
  static F bor(F a, F b) { return _mm512_or_ps(a, b); }
  static F bxor(F a, F b) { return _mm512_xor_ps(a, b); }

  static I bits(F a) { return _mm512_castps_si512(a); }
  static F from_bits(I a) { return _mm512_castsi512_ps(a); }
  static I iadd(I a, I b) { return _mm512_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm512_sub_epi32(a, b); }
  template <int S>
  static I sra(I a) { return _mm512_srai_epi32(a, S); }
  template <int S>
  static I sll(I a) { return _mm512_slli_epi32(a, S); }
};

}  // namespace

const VmathKernels& vmath_kernels_avx512() {
  static constexpr VmathKernels k = lanes::make_kernels<Lane>(Isa::avx512);
  return k;
}

}  // namespace seqc::cpu::detail
