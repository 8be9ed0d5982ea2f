// layer/linear: y = x W^T + b, PyTorch nn.Linear layout, exact GEMM.
#include "core/packed_weight.hpp"
#include "core/plugin.hpp"
#include "cpu/thread_pool.hpp"

namespace seqc {

namespace {

const ConfigKey kSchema[] = {
    {.name = "in_features", .type = ConfigType::integer, .required = true, .min = 1, .doc = "input width"},
    {.name = "out_features", .type = ConfigType::integer, .required = true, .min = 1, .doc = "output width"},
    {.name = "bias", .type = ConfigType::boolean, .required = false, .bool_default = true, .doc = "add a bias vector"},
};

BlockInfo info(const Config& c) {
  BlockInfo b;
  b.in_width = c.i("in_features");
  b.out_width = c.i("out_features");
  b.weights = {{"weight", DType::f32, {b.out_width, b.in_width}}};
  if (c.b("bias")) b.weights.push_back({"bias", DType::f32, {b.out_width}});
  return b;
}

class Linear final : public Block {
 public:
  Linear(const Config& c, const BlockInfo& info, const WeightSource& w)
      : in_(info.in_width),
        out_(info.out_width),
        w_(PackedWeight::from_nk(w.get_matrix("weight"), out_, in_)),
        bias_(c.b("bias") ? copy_floats(w.get("bias"), out_) : AlignedBuffer()) {}

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs&) const override {
    const bool has_bias = bias_.size() != 0;
    cpu::gemm(&ctx.pool, w_.args(B * T, x, in_, y, out_, has_bias ? cpu::Init::bias : cpu::Init::zero,
                                 bias_.as<float>()));
  }
  size_t weight_bytes() const override { return w_.bytes() + bias_.size(); }

 private:
  int64_t in_, out_;
  PackedWeight w_;
  AlignedBuffer bias_;
};

std::unique_ptr<Block> create(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<Linear>(c, info, w);
}

}  // namespace

SEQC_DECLARE_CUDA_FACTORY(create_cuda_linear);

extern const PluginDesc plugin_layer_linear = {
    .kind = PluginKind::layer,
    .name = "layer/linear",
    .version = 1,
    .summary = "dense projection y = x W^T + b (also the LM head)",
    .schema = kSchema,
    .info = info,
    .create_cpu = create,
    .create_cuda = SEQC_CUDA_FACTORY(create_cuda_linear),
    .test_configs = {},
    .forward_exact = true,
};

}  // namespace seqc
