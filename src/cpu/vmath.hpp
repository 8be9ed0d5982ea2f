// Deterministic elementwise math and reductions over float arrays.
//
// Every function gives the same bits on every ISA, for every n and every
// alignment: the scalar code performs the very operations of one vector lane
// (same constants, same fma/mul/add/div sequence, same rounding of the range
// reduction; vmath_lanes.hpp holds that sequence once for all ISAs). No libm
// call is involved, so results also do not change with the C library.
// Results assume the default floating-point environment (round to nearest, no
// flush-to-zero). Nothing here allocates. In-place use (x == y) is allowed;
// other overlaps are not.
//
// Accuracy against a double-precision reference, measured over every float
// (and checked on dense sweeps by tests/cpu/test_vmath.cpp):
//   vexp: at most 1.01 ulp on [-87.3, 88.7]; +inf above 88.7228; at most
//         0.75 ulp of the smallest subnormal below -87.3, +0 below -103.97.
//   vsigmoid: absolute error at most 9e-8, relative 1.5e-7; exactly 1 above
//         ~17 and +0 below -88.72 (where e^-x overflows; the true value is
//         below 3e-39 there).
//   vtanh: absolute error at most 8e-8, relative 8e-8 below |x| = 0.625;
//         tanh(x) = x for tiny x, the sign of zero is kept, +-1 beyond ~9.
//   vsilu: error at most 1.2e-7 (relative where |y| > 1, absolute below);
//         -0 below x = -88.72 (true value above -3e-37 there).
//   vgelu_tanh: error at most 1.6e-7 by the same measure; relative error up
//         to 1.3e-5 below x = -9, where |y| < 1e-20 (the rounding of the
//         cubic exponent).
// A NaN input gives a NaN output (the input, quieted) in the same position.
#pragma once

#include <cstdint>

#include "cpu/cpu_features.hpp"

namespace seqc::cpu {

// y = e^x.
void vexp(const float* x, float* y, int64_t n);

// y = 1 / (1 + e^-x).
void vsigmoid(const float* x, float* y, int64_t n);

// y = tanh(x): an odd polynomial below |x| = 0.625, 1 - 2 / (e^2|x| + 1) above.
void vtanh(const float* x, float* y, int64_t n);

// y = x * sigmoid(x), computed as x / (1 + e^-x) (x = -inf gives -0).
void vsilu(const float* x, float* y, int64_t n);

// y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), computed through the
// identity 0.5 (1 + tanh u) = 1 / (1 + e^-2u) as x / (1 + e^-2u), which keeps
// the relative accuracy for negative x (x = -inf gives -0).
void vgelu_tanh(const float* x, float* y, int64_t n);

// Reductions in one canonical order: 16 lanes starting at +0, element i goes
// to lane i % 16 in increasing i; then lane[i] (op)= lane[i + s] for i < s,
// for s = 8, 4, 2, 1; the result is lane 0. n = 0 gives +0.
//   vsum:   lane = lane + x[i]
//   vdot:   lane = fmaf(a[i], b[i], lane)
//   vsumsq: lane = fmaf(x[i], x[i], lane)
// A NaN among the inputs gives NaN; its payload is not specified.
float vsum(const float* x, int64_t n);
float vdot(const float* a, const float* b, int64_t n);
float vsumsq(const float* x, int64_t n);

// The largest element, in the same lane order, lanes starting at -inf (n = 0
// gives -inf). Between equal values (+0 and -0) the one already in the lane,
// or the lower lane, wins. If any element is NaN the result is the default
// quiet NaN (+qNaN, 0x7fc00000).
float vmax(const float* x, int64_t n);

// y = a + b.
void vadd(const float* a, const float* b, float* y, int64_t n);
// y = a * b.
void vmul(const float* a, const float* b, float* y, int64_t n);
// y = x * s.
void vscale(const float* x, float s, float* y, int64_t n);
// y = fmaf(a, x, y): a * x + y with one rounding.
void vaxpy(float a, const float* x, float* y, int64_t n);

namespace detail {

struct VmathKernels {
  Isa isa;
  void (*exp)(const float*, float*, int64_t);
  void (*sigmoid)(const float*, float*, int64_t);
  void (*tanh)(const float*, float*, int64_t);
  void (*silu)(const float*, float*, int64_t);
  void (*gelu_tanh)(const float*, float*, int64_t);
  float (*sum)(const float*, int64_t);
  float (*dot)(const float*, const float*, int64_t);
  float (*sumsq)(const float*, int64_t);
  float (*max)(const float*, int64_t);
  void (*add)(const float*, const float*, float*, int64_t);
  void (*mul)(const float*, const float*, float*, int64_t);
  void (*scale)(const float*, float, float*, int64_t);
  void (*axpy)(float, const float*, float*, int64_t);
};

// The functions of one ISA, for tests and benchmarks; an ISA above
// detected_isa() gives the best one detected.
const VmathKernels& vmath_kernels(Isa isa);

}  // namespace detail

}  // namespace seqc::cpu
