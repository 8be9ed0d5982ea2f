// ssm_kernels.hpp. The step kernel exists three times: plain C++ (the
// reference, one lane at a time) and two x86 versions compiled for AVX2+FMA
// and AVX-512 through function target attributes, so this file builds with the
// library's baseline flags and still runs on any x86-64. All three perform the
// same IEEE operations on every element, in the same order.
#include "recurrent/mamba2/ssm_kernels.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include "cpu/cpu_features.hpp"
#include "cpu/gemm.hpp"
#include "cpu/vmath.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace seqc::mamba2 {

namespace {

constexpr int kLanes = 16;

// lane[i] += lane[i + s] for s = 8, 4, 2, 1; lane 0 is the sum.
inline float tree16(float* l) {
  for (int s = kLanes / 2; s >= 1; s /= 2)
    for (int i = 0; i < s; ++i) l[i] = l[i] + l[i + s];
  return l[0];
}

void step_scalar(float* S, int64_t P, int64_t N, const float* x, const float* Bv, const float* Cv, float dt, float dA,
                 float Dh, float* y) {
  for (int64_t p = 0; p < P; ++p) {
    float* s = S + p * N;
    const float dtx = dt * x[p];
    float acc[kLanes] = {};
    for (int64_t n = 0; n < N; ++n) {
      const float v = std::fma(dtx, Bv[n], dA * s[n]);
      s[n] = v;
      acc[n % kLanes] = std::fma(v, Cv[n], acc[n % kLanes]);
    }
    const float dx = Dh * x[p];
    y[p] = tree16(acc) + dx;
  }
}

#if defined(__x86_64__)

#define SEQC_AVX2 __attribute__((target("avx2,fma")))
#define SEQC_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

SEQC_AVX2 inline __m256i mask8(int64_t n) {  // lanes [0, n) set, n in [0, 8]
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), idx);
}

// One row: 8 floats of the state at a time; acc lo takes n % 16 < 8.
template <int R>
SEQC_AVX2 void rows_avx2(float* S, int64_t N, const float* x, const float* Bv, const float* Cv, float dt, float dA,
                         float Dh, float* y) {
  const __m256 vdA = _mm256_set1_ps(dA);
  __m256 dtx[R], lo[R], hi[R];
  for (int r = 0; r < R; ++r) {
    dtx[r] = _mm256_set1_ps(dt * x[r]);
    lo[r] = _mm256_setzero_ps();
    hi[r] = _mm256_setzero_ps();
  }
  int64_t n = 0;
  for (; n + 16 <= N; n += 16) {
    const __m256 b0 = _mm256_loadu_ps(Bv + n), b1 = _mm256_loadu_ps(Bv + n + 8);
    const __m256 c0 = _mm256_loadu_ps(Cv + n), c1 = _mm256_loadu_ps(Cv + n + 8);
    for (int r = 0; r < R; ++r) {
      float* s = S + r * N + n;
      const __m256 v0 = _mm256_fmadd_ps(dtx[r], b0, _mm256_mul_ps(vdA, _mm256_loadu_ps(s)));
      const __m256 v1 = _mm256_fmadd_ps(dtx[r], b1, _mm256_mul_ps(vdA, _mm256_loadu_ps(s + 8)));
      _mm256_storeu_ps(s, v0);
      _mm256_storeu_ps(s + 8, v1);
      lo[r] = _mm256_fmadd_ps(v0, c0, lo[r]);
      hi[r] = _mm256_fmadd_ps(v1, c1, hi[r]);
    }
  }
  if (n < N) {  // masked lanes read and add +0, which leaves an accumulator unchanged
    const int64_t rem = N - n;
    const __m256i m0 = mask8(std::min<int64_t>(rem, 8)), m1 = mask8(std::max<int64_t>(rem - 8, 0));
    const __m256 b0 = _mm256_maskload_ps(Bv + n, m0), b1 = _mm256_maskload_ps(Bv + n + 8, m1);
    const __m256 c0 = _mm256_maskload_ps(Cv + n, m0), c1 = _mm256_maskload_ps(Cv + n + 8, m1);
    for (int r = 0; r < R; ++r) {
      float* s = S + r * N + n;
      const __m256 v0 = _mm256_fmadd_ps(dtx[r], b0, _mm256_mul_ps(vdA, _mm256_maskload_ps(s, m0)));
      const __m256 v1 = _mm256_fmadd_ps(dtx[r], b1, _mm256_mul_ps(vdA, _mm256_maskload_ps(s + 8, m1)));
      _mm256_maskstore_ps(s, m0, v0);
      _mm256_maskstore_ps(s + 8, m1, v1);
      lo[r] = _mm256_fmadd_ps(v0, c0, lo[r]);
      hi[r] = _mm256_fmadd_ps(v1, c1, hi[r]);
    }
  }
  for (int r = 0; r < R; ++r) {  // the lanes through the scalar tree: same order by construction
    float l[kLanes];
    _mm256_storeu_ps(l, lo[r]);
    _mm256_storeu_ps(l + 8, hi[r]);
    const float dx = Dh * x[r];
    y[r] = tree16(l) + dx;
  }
}

SEQC_AVX2 void step_avx2(float* S, int64_t P, int64_t N, const float* x, const float* Bv, const float* Cv, float dt,
                         float dA, float Dh, float* y) {
  int64_t p = 0;
  for (; p + 4 <= P; p += 4) rows_avx2<4>(S + p * N, N, x + p, Bv, Cv, dt, dA, Dh, y + p);
  for (; p < P; ++p) rows_avx2<1>(S + p * N, N, x + p, Bv, Cv, dt, dA, Dh, y + p);
}

template <int R>
SEQC_AVX512 void rows_avx512(float* S, int64_t N, const float* x, const float* Bv, const float* Cv, float dt,
                             float dA, float Dh, float* y) {
  const __m512 vdA = _mm512_set1_ps(dA);
  __m512 dtx[R], acc[R];
  for (int r = 0; r < R; ++r) {
    dtx[r] = _mm512_set1_ps(dt * x[r]);
    acc[r] = _mm512_setzero_ps();
  }
  int64_t n = 0;
  for (; n + 16 <= N; n += 16) {
    const __m512 b = _mm512_loadu_ps(Bv + n), c = _mm512_loadu_ps(Cv + n);
    for (int r = 0; r < R; ++r) {
      float* s = S + r * N + n;
      const __m512 v = _mm512_fmadd_ps(dtx[r], b, _mm512_mul_ps(vdA, _mm512_loadu_ps(s)));
      _mm512_storeu_ps(s, v);
      acc[r] = _mm512_fmadd_ps(v, c, acc[r]);
    }
  }
  if (n < N) {  // masked lanes read and add +0, which leaves an accumulator unchanged
    const __mmask16 m = __mmask16((1u << (N - n)) - 1u);
    const __m512 b = _mm512_maskz_loadu_ps(m, Bv + n), c = _mm512_maskz_loadu_ps(m, Cv + n);
    for (int r = 0; r < R; ++r) {
      float* s = S + r * N + n;
      const __m512 v = _mm512_fmadd_ps(dtx[r], b, _mm512_mul_ps(vdA, _mm512_maskz_loadu_ps(m, s)));
      _mm512_mask_storeu_ps(s, m, v);
      acc[r] = _mm512_fmadd_ps(v, c, acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    float l[kLanes];
    _mm512_storeu_ps(l, acc[r]);
    const float dx = Dh * x[r];
    y[r] = tree16(l) + dx;
  }
}

SEQC_AVX512 void step_avx512(float* S, int64_t P, int64_t N, const float* x, const float* Bv, const float* Cv,
                             float dt, float dA, float Dh, float* y) {
  int64_t p = 0;
  for (; p + 4 <= P; p += 4) rows_avx512<4>(S + p * N, N, x + p, Bv, Cv, dt, dA, Dh, y + p);
  for (; p < P; ++p) rows_avx512<1>(S + p * N, N, x + p, Bv, Cv, dt, dA, Dh, y + p);
}

#endif  // __x86_64__

using StepFn = void (*)(float*, int64_t, int64_t, const float*, const float*, const float*, float, float, float,
                        float*);

StepFn pick_step() {
#if defined(__x86_64__)
  switch (cpu::active_isa()) {
    case cpu::Isa::avx512: return step_avx512;
    case cpu::Isa::avx2: return step_avx2;
    default: break;
  }
#endif
  return step_scalar;
}

}  // namespace

void ssm_step_head(float* S, int64_t P, int64_t N, const float* x, const float* Bv, const float* Cv, float dt,
                   float dA, float Dh, float* y) {
  static const StepFn fn = pick_step();
  fn(S, P, N, x, Bv, Cv, dt, dA, Dh, y);
}

void pack_kn_strided(const float* src, int64_t ld, int64_t K, int64_t N, const float* scale, float* dst) {
  const int64_t panels = (N + cpu::kPanel - 1) / cpu::kPanel;
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t n0 = p * cpu::kPanel, w = std::min(cpu::kPanel, N - n0);
    float* panel = dst + p * K * cpu::kPanel;
    for (int64_t k = 0; k < K; ++k) {
      const float* s = src + k * ld + n0;
      float* d = panel + k * cpu::kPanel;
      if (scale) {
        const float f = scale[k];
        for (int64_t j = 0; j < w; ++j) d[j] = s[j] * f;
      } else {
        for (int64_t j = 0; j < w; ++j) d[j] = s[j];
      }
      for (int64_t j = w; j < cpu::kPanel; ++j) d[j] = 0.0f;
    }
  }
}

void pack_nk_strided(const float* src, int64_t ld, int64_t N, int64_t K, float* dst) {
  const int64_t panels = (N + cpu::kPanel - 1) / cpu::kPanel;
  for (int64_t p = 0; p < panels; ++p) {
    float* panel = dst + p * K * cpu::kPanel;
    for (int64_t j = 0; j < cpu::kPanel; ++j) {
      const int64_t n = p * cpu::kPanel + j;
      if (n < N) {
        const float* w = src + n * ld;
        for (int64_t k = 0; k < K; ++k) panel[k * cpu::kPanel + j] = w[k];
      } else {
        for (int64_t k = 0; k < K; ++k) panel[k * cpu::kPanel + j] = 0.0f;
      }
    }
  }
}

}  // namespace seqc::mamba2
