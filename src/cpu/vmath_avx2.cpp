// vmath on 8 lanes of AVX2 + FMA (compiled with -mavx2 -mfma).
#include <immintrin.h>

#include "cpu/vmath_isa.hpp"
#include "cpu/vmath_lanes.hpp"

namespace seqc::cpu::detail {

namespace {

struct Lane {
  using F = __m256;
  using M = __m256;  // all-ones lanes
  using I = __m256i;
  static constexpr int W = 8;

  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static M first_n(int n) {
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
  }
  static F load_n(const float* p, int n) { return _mm256_maskload_ps(p, _mm256_castps_si256(first_n(n))); }
  static void store_n(float* p, F v, int n) { _mm256_maskstore_ps(p, _mm256_castps_si256(first_n(n)), v); }
  static F set1(float a) { return _mm256_set1_ps(a); }
  static I iset1(int32_t a) { return _mm256_set1_epi32(a); }

  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }

  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M isnan(F a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static F select(M m, F a, F b) { return _mm256_blendv_ps(b, a, m); }

  static F band(F a, F b) { return _mm256_and_ps(a, b); }
  static F bor(F a, F b) { return _mm256_or_ps(a, b); }
  static F bxor(F a, F b) { return _mm256_xor_ps(a, b); }

  static I bits(F a) { return _mm256_castps_si256(a); }
  static F from_bits(I a) { return _mm256_castsi256_ps(a); }
  static I iadd(I a, I b) { return _mm256_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm256_sub_epi32(a, b); }
  template <int S>
  static I sra(I a) { return _mm256_srai_epi32(a, S); }
  template <int S>
  static I sll(I a) { return _mm256_slli_epi32(a, S); }
};

}  // namespace

const VmathKernels& vmath_kernels_avx2() {
  static constexpr VmathKernels k = lanes::make_kernels<Lane>(Isa::avx2);
  return k;
}

}  // namespace seqc::cpu::detail
