// layer/rmsnorm and layer/layernorm, one row at a time with the exact
// reductions of cpu/vmath.hpp (so results do not depend on batching).
#include <cmath>

#include "core/packed_weight.hpp"
#include "core/plugin.hpp"
#include "cpu/thread_pool.hpp"
#include "cpu/vmath.hpp"

namespace seqc {

namespace {

// Rows per parallel task: keep tasks above a few microseconds of work.
int64_t rows_per_task(int64_t dim) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(dim, 1)); }

template <class RowFn>
void for_rows(RunCtx& ctx, int64_t rows, int64_t dim, const RowFn& fn) {
  const int64_t chunk = rows_per_task(dim);
  const int64_t tasks = (rows + chunk - 1) / chunk;
  auto body = [&](int64_t task, int) {
    const int64_t end = std::min(rows, (task + 1) * chunk);
    for (int64_t r = task * chunk; r < end; ++r) fn(r);
  };
  if (tasks <= 1) {
    body(0, 0);
  } else {
    ctx.pool.parallel_for(tasks, body);
  }
}

// ---------------------------------------------------------------- RMSNorm

const ConfigKey kRmsSchema[] = {
    {.name = "dim", .type = ConfigType::integer, .required = true, .min = 1, .doc = "width"},
    {.name = "eps", .type = ConfigType::number, .required = false, .num_default = 1e-6, .min = 0, .max = 1,
     .doc = "added to the mean square"},
    {.name = "weight_offset", .type = ConfigType::number, .required = false, .num_default = 0, .min = -16,
     .max = 16, .doc = "scale is weight + offset (1 for checkpoints that store w in x*(1+w))"},
};

BlockInfo rms_info(const Config& c) {
  BlockInfo b;
  b.in_width = b.out_width = c.i("dim");
  b.weights = {{"weight", DType::f32, {b.in_width}}};
  return b;
}

class RmsNorm final : public Block {
 public:
  RmsNorm(const Config& c, const BlockInfo& info, const WeightSource& w)
      : dim_(info.in_width), eps_(float(c.f("eps"))), scale_(copy_floats(w.get("weight"), dim_)) {
    const float off = float(c.f("weight_offset"));
    for (int64_t i = 0; i < dim_; ++i) scale_.as<float>()[i] += off;
  }
  // y = x * (1 / sqrt(mean(x^2) + eps)) * scale
  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs&) const override {
    const float* s = scale_.as<float>();
    for_rows(ctx, B * T, dim_, [&](int64_t r) {
      const float* xr = x + r * dim_;
      float* yr = y + r * dim_;
      const float inv = 1.0f / std::sqrt(cpu::vsumsq(xr, dim_) / float(dim_) + eps_);
      cpu::vscale(xr, inv, yr, dim_);
      cpu::vmul(yr, s, yr, dim_);
    });
  }
  size_t weight_bytes() const override { return scale_.size(); }

 private:
  int64_t dim_;
  float eps_;
  AlignedBuffer scale_;
};

std::unique_ptr<Block> rms_create(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<RmsNorm>(c, info, w);
}

// ---------------------------------------------------------------- LayerNorm

const ConfigKey kLnSchema[] = {
    {.name = "dim", .type = ConfigType::integer, .required = true, .min = 1, .doc = "width"},
    {.name = "eps", .type = ConfigType::number, .required = false, .num_default = 1e-5, .min = 0, .max = 1,
     .doc = "added to the variance"},
    {.name = "elementwise_affine", .type = ConfigType::boolean, .required = false, .bool_default = true,
     .doc = "multiply by a learned weight"},
    {.name = "bias", .type = ConfigType::boolean, .required = false, .bool_default = true,
     .doc = "add a learned bias (with elementwise_affine)"},
};

BlockInfo ln_info(const Config& c) {
  BlockInfo b;
  b.in_width = b.out_width = c.i("dim");
  if (c.b("elementwise_affine")) {
    b.weights.push_back({"weight", DType::f32, {b.in_width}});
    if (c.b("bias")) b.weights.push_back({"bias", DType::f32, {b.in_width}});
  }
  return b;
}

class LayerNorm final : public Block {
 public:
  LayerNorm(const Config& c, const BlockInfo& info, const WeightSource& w)
      : dim_(info.in_width), eps_(float(c.f("eps"))) {
    if (c.b("elementwise_affine")) {
      weight_ = copy_floats(w.get("weight"), dim_);
      if (c.b("bias")) bias_ = copy_floats(w.get("bias"), dim_);
    }
  }
  // y = (x - mean) * (1 / sqrt(var + eps)) * weight + bias, two-pass variance
  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs&) const override {
    for_rows(ctx, B * T, dim_, [&](int64_t r) {
      const float* xr = x + r * dim_;
      float* yr = y + r * dim_;
      const float mean = cpu::vsum(xr, dim_) / float(dim_);
      for (int64_t i = 0; i < dim_; ++i) yr[i] = xr[i] - mean;
      const float inv = 1.0f / std::sqrt(cpu::vsumsq(yr, dim_) / float(dim_) + eps_);
      cpu::vscale(yr, inv, yr, dim_);
      if (weight_.size()) cpu::vmul(yr, weight_.as<float>(), yr, dim_);
      if (bias_.size()) cpu::vadd(yr, bias_.as<float>(), yr, dim_);
    });
  }
  size_t weight_bytes() const override { return weight_.size() + bias_.size(); }

 private:
  int64_t dim_;
  float eps_;
  AlignedBuffer weight_, bias_;
};

std::unique_ptr<Block> ln_create(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<LayerNorm>(c, info, w);
}

}  // namespace

SEQC_DECLARE_CUDA_FACTORY(create_cuda_rmsnorm);
SEQC_DECLARE_CUDA_FACTORY(create_cuda_layernorm);

extern const PluginDesc plugin_layer_rmsnorm = {
    .kind = PluginKind::layer,
    .name = "layer/rmsnorm",
    .version = 1,
    .summary = "RMSNorm x / rms(x) * (weight + offset)",
    .schema = kRmsSchema,
    .info = rms_info,
    .create_cpu = rms_create,
    .create_cuda = SEQC_CUDA_FACTORY(create_cuda_rmsnorm),
    .test_configs = {},
    .forward_exact = true,
};

extern const PluginDesc plugin_layer_layernorm = {
    .kind = PluginKind::layer,
    .name = "layer/layernorm",
    .version = 1,
    .summary = "LayerNorm with optional affine weight and bias",
    .schema = kLnSchema,
    .info = ln_info,
    .create_cpu = ln_create,
    .create_cuda = SEQC_CUDA_FACTORY(create_cuda_layernorm),
    .test_configs = {},
    .forward_exact = true,
};

}  // namespace seqc
