// ISA dispatch of vmath.hpp.
#include "cpu/vmath.hpp"

#include "cpu/vmath_isa.hpp"

namespace seqc::cpu {

namespace detail {

const VmathKernels& vmath_kernels(Isa isa) {
#if defined(__x86_64__)
  const Isa best = detected_isa();
  if (static_cast<int>(isa) > static_cast<int>(best)) isa = best;
  if (isa == Isa::avx512) return vmath_kernels_avx512();
  if (isa == Isa::avx2) return vmath_kernels_avx2();
#else
  (void)isa;
#endif
  return vmath_kernels_scalar();
}

}  // namespace detail

namespace {

const detail::VmathKernels& active() {
  static const detail::VmathKernels& k = detail::vmath_kernels(active_isa());
  return k;
}

}  // namespace

void vexp(const float* x, float* y, int64_t n) { active().exp(x, y, n); }
void vsigmoid(const float* x, float* y, int64_t n) { active().sigmoid(x, y, n); }
void vtanh(const float* x, float* y, int64_t n) { active().tanh(x, y, n); }
void vsilu(const float* x, float* y, int64_t n) { active().silu(x, y, n); }
void vgelu_tanh(const float* x, float* y, int64_t n) { active().gelu_tanh(x, y, n); }
float vsum(const float* x, int64_t n) { return active().sum(x, n); }
float vdot(const float* a, const float* b, int64_t n) { return active().dot(a, b, n); }
float vsumsq(const float* x, int64_t n) { return active().sumsq(x, n); }
float vmax(const float* x, int64_t n) { return active().max(x, n); }
void vadd(const float* a, const float* b, float* y, int64_t n) { active().add(a, b, y, n); }
void vmul(const float* a, const float* b, float* y, int64_t n) { active().mul(a, b, y, n); }
void vscale(const float* x, float s, float* y, int64_t n) { active().scale(x, s, y, n); }
void vaxpy(float a, const float* x, float* y, int64_t n) { active().axpy(a, x, y, n); }

}  // namespace seqc::cpu
