// layer/activation: an elementwise nonlinearity with the exact functions of
// cpu/vmath.hpp.
#include <cstring>

#include "core/plugin.hpp"
#include "core/status.hpp"
#include "cpu/thread_pool.hpp"
#include "cpu/vmath.hpp"

namespace seqc {

namespace {

const ConfigKey kSchema[] = {
    {.name = "function", .type = ConfigType::string, .required = true,
     .choices = "relu|silu|gelu_tanh|tanh|sigmoid", .doc = "the nonlinearity"},
    {.name = "dim", .type = ConfigType::integer, .required = true, .min = 1, .doc = "width"},
};

enum class Fn { relu, silu, gelu_tanh, tanh, sigmoid };

BlockInfo info(const Config& c) {
  BlockInfo b;
  b.in_width = b.out_width = c.i("dim");
  return b;
}

class Activation final : public Block {
 public:
  Activation(const Config& c, const BlockInfo& info) : dim_(info.in_width) {
    const std::string& f = c.s("function");
    fn_ = f == "relu" ? Fn::relu : f == "silu" ? Fn::silu : f == "gelu_tanh" ? Fn::gelu_tanh
        : f == "tanh" ? Fn::tanh : Fn::sigmoid;
  }
  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs&) const override {
    const int64_t n = B * T * dim_;
    constexpr int64_t kChunk = 1 << 14;
    const int64_t tasks = (n + kChunk - 1) / kChunk;
    auto body = [&](int64_t task, int) {
      const int64_t lo = task * kChunk, len = std::min(kChunk, n - lo);
      apply(x + lo, y + lo, len);
    };
    if (tasks <= 1) body(0, 0);
    else ctx.pool.parallel_for(tasks, body);
  }
  size_t weight_bytes() const override { return 0; }

 private:
  void apply(const float* x, float* y, int64_t n) const {
    switch (fn_) {
      case Fn::relu:
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];  // NaN stays NaN
        return;
      case Fn::silu: cpu::vsilu(x, y, n); return;
      case Fn::gelu_tanh: cpu::vgelu_tanh(x, y, n); return;
      case Fn::tanh: cpu::vtanh(x, y, n); return;
      case Fn::sigmoid: cpu::vsigmoid(x, y, n); return;
    }
  }
  int64_t dim_;
  Fn fn_;
};

std::unique_ptr<Block> create(const Config& c, const BlockInfo& info, const WeightSource&) {
  return std::make_unique<Activation>(c, info);
}

}  // namespace

SEQC_DECLARE_CUDA_FACTORY(create_cuda_activation);

extern const PluginDesc plugin_layer_activation = {
    .kind = PluginKind::layer,
    .name = "layer/activation",
    .version = 1,
    .summary = "elementwise relu, silu, gelu_tanh, tanh or sigmoid",
    .schema = kSchema,
    .info = info,
    .create_cpu = create,
    .create_cuda = SEQC_CUDA_FACTORY(create_cuda_activation),
    .test_configs = {},
    .forward_exact = true,
};

}  // namespace seqc
