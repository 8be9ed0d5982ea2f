// layer/activation on CUDA: relu, silu, gelu_tanh, tanh or sigmoid, one
// grid-stride elementwise kernel per function. The formulas and the special
// cases are those of cpu/vmath.hpp (NaN in gives NaN out; silu and gelu_tanh
// of -inf give -0; relu keeps -0 and NaN); exp and tanh are CUDA's expf and
// tanhf (a few ulp; the CPU uses its own polynomials of about 1 ulp).
#include <cfloat>

#include "cuda/cuda_common.cuh"

namespace seqc {

namespace {

enum class Fn { relu, silu, gelu_tanh, tanh, sigmoid };

constexpr float kLowest = -FLT_MAX;
constexpr float kGeluCubic = 0.044715f;
constexpr float kGeluMinus2C = -1.59576912160573071f;  // -2 sqrt(2/pi)

template <Fn fn>
__device__ __forceinline__ float apply(float x) {
  if constexpr (fn == Fn::relu) {
    return x < 0.0f ? 0.0f : x;  // NaN stays NaN, -0 stays -0
  } else if constexpr (fn == Fn::silu) {
    // x / (1 + e^-x), numerator max(x, lowest) so that -inf gives -0.
    if (isnan(x)) return x + x;
    return __fdiv_rn(x > kLowest ? x : kLowest, __fadd_rn(1.0f, expf(-x)));
  } else if constexpr (fn == Fn::gelu_tanh) {
    // 0.5 x (1 + tanh u) = x / (1 + e^-2u), -2u = (x (1 + 0.044715 x^2)) (-2 sqrt(2/pi)).
    if (isnan(x)) return x + x;
    const float p = fmaf(__fmul_rn(x, x), kGeluCubic, 1.0f);
    const float e = expf(__fmul_rn(__fmul_rn(x, p), kGeluMinus2C));
    return __fdiv_rn(x > kLowest ? x : kLowest, __fadd_rn(1.0f, e));
  } else if constexpr (fn == Fn::tanh) {
    return tanhf(x);
  } else {
    if (isnan(x)) return x + x;
    return __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-x)));
  }
}

template <Fn fn>
__global__ void activation_kernel(const float* x, float* y, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = apply<fn>(x[i]);
}

class CudaActivation final : public Block {
 public:
  CudaActivation(const Config& c, const BlockInfo& info) : dim_(info.in_width) {
    const std::string& f = c.s("function");
    if (f == "relu") fn_ = Fn::relu;
    else if (f == "silu") fn_ = Fn::silu;
    else if (f == "gelu_tanh") fn_ = Fn::gelu_tanh;
    else if (f == "tanh") fn_ = Fn::tanh;
    else if (f == "sigmoid") fn_ = Fn::sigmoid;
    else fail(Code::config, "layer/activation: unknown function '", f, "'");
  }

  // x == y (in place) is fine: each element is read and written by one thread.
  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs&) const override {
    const int64_t n = B * T * dim_;
    if (n <= 0) return;
    const cuda::Ctx& c = cuda::ctx_of(ctx);
    constexpr int kThreads = 256;
    const unsigned cap = unsigned(c.sm_count > 0 ? c.sm_count * 8 : 1024);
    unsigned grid = cuda::grid_for(n, kThreads);
    if (grid > cap) grid = cap;
    switch (fn_) {
      case Fn::relu: activation_kernel<Fn::relu><<<grid, kThreads, 0, c.stream>>>(x, y, n); break;
      case Fn::silu: activation_kernel<Fn::silu><<<grid, kThreads, 0, c.stream>>>(x, y, n); break;
      case Fn::gelu_tanh: activation_kernel<Fn::gelu_tanh><<<grid, kThreads, 0, c.stream>>>(x, y, n); break;
      case Fn::tanh: activation_kernel<Fn::tanh><<<grid, kThreads, 0, c.stream>>>(x, y, n); break;
      case Fn::sigmoid: activation_kernel<Fn::sigmoid><<<grid, kThreads, 0, c.stream>>>(x, y, n); break;
    }
    cuda::check_launch("layer/activation");
  }

  size_t weight_bytes() const override { return 0; }

 private:
  int64_t dim_;
  Fn fn_ = Fn::relu;
};

}  // namespace

std::unique_ptr<Block> create_cuda_activation(const Config& c, const BlockInfo& info, const WeightSource&) {
  return std::make_unique<CudaActivation>(c, info);
}

}  // namespace seqc
