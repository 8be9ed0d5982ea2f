// layer/short_conv: a causal depthwise 1-D convolution with streaming state
// (spec L01), PyTorch's depthwise nn.Conv1d weight layout [C, 1, K]:
//   y[t, c] = act(bias[c] + sum_{j=0}^{K-1} w[c, 0, j] * x[t - K + 1 + j, c])
// with the inputs before a stream's first position taken as zero.
//
// A layer that holds state: the last K-1 inputs, state `conv [K-1, C]`
// (oldest first), as the shared kernel (causal_conv.hpp) keeps it. The graph
// treats any block with state tensors as stateful, whatever its kind, and the
// conformance suite runs every plugin that lists test configs, so this layer
// joins it. With kernel_size 1 there is nothing to remember: no state tensor,
// and the block is a per-channel scale (plus bias and activation).
//
// Channels are split over the thread pool; every output element has its own
// chain (bias, then the taps oldest first), so steps, any chunking, step_many
// and any thread count give the same bits.
#include <algorithm>

#include "core/packed_weight.hpp"
#include "core/plugin.hpp"
#include "core/status.hpp"
#include "cpu/thread_pool.hpp"
#include "layers/short_conv/causal_conv.hpp"

namespace seqc {

namespace {

const ConfigKey kSchema[] = {
    {.name = "channels", .type = ConfigType::integer, .required = true, .min = 1, .doc = "width C (in = out)"},
    {.name = "kernel_size", .type = ConfigType::integer, .required = true, .min = 1, .max = 1024,
     .doc = "taps K; the state keeps the last K-1 inputs"},
    {.name = "bias", .type = ConfigType::boolean, .required = false, .bool_default = true,
     .doc = "add a learned bias [C]"},
    {.name = "activation", .type = ConfigType::string, .required = false, .str_default = "none",
     .choices = "none|silu", .doc = "applied after the bias and the taps"},
};

const char* const kTestConfigs[] = {
    R"({"channels": 37, "kernel_size": 4})",
    R"({"channels": 16, "kernel_size": 2, "bias": false, "activation": "silu"})",
    R"({"channels": 5, "kernel_size": 7, "activation": "silu"})",
};

BlockInfo info(const Config& c) {
  const int64_t C = c.i("channels"), K = c.i("kernel_size");
  BlockInfo b;
  b.in_width = b.out_width = C;
  b.weights = {{"weight", DType::f32, {C, 1, K}}};
  if (c.b("bias")) b.weights.push_back({"bias", DType::f32, {C}});
  if (K > 1) b.state = {{"conv", DType::f32, {K - 1, C}}};
  return b;
}

class ShortConv final : public Block {
 public:
  ShortConv(const Config& c, const BlockInfo& info, const WeightSource& w)
      : C_(info.in_width), K_(c.i("kernel_size")),
        act_(c.s("activation") == "silu" ? conv::Act::silu : conv::Act::none),
        w_(size_t(C_ * K_) * sizeof(float)),
        bias_(c.b("bias") ? copy_floats(w.get("bias"), C_) : AlignedBuffer()) {
    conv::pack_conv_weight(w.get("weight"), C_, K_, w_.as<float>());
  }

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs& st) const override {
    const float* bias = bias_.size() ? bias_.as<float>() : nullptr;
    auto channels = [&](int64_t c0, int64_t c1) {
      for (int64_t b = 0; b < B; ++b)
        conv::causal_conv(x + b * T * C_, C_, y + b * T * C_, C_, T, C_, K_, w_.as<float>(), bias,
                          K_ > 1 ? st.f32(b, 0) : nullptr, act_, c0, c1);
    };
    // Channel groups of 16 (one vector), as many tasks as threads; small
    // calls stay on the calling thread (waking workers costs more).
    constexpr int64_t kGroup = 16;
    const int64_t groups = (C_ + kGroup - 1) / kGroup;
    if (B * T * C_ * K_ < (1 << 15) || groups < 2) {
      channels(0, C_);
      return;
    }
    ctx.pool.parallel_ranges(groups, [&](int64_t g0, int64_t g1) {
      channels(g0 * kGroup, std::min(C_, g1 * kGroup));
    });
  }

  size_t weight_bytes() const override { return w_.size() + bias_.size(); }

 private:
  int64_t C_, K_;
  conv::Act act_;
  AlignedBuffer w_;  // [K, C]
  AlignedBuffer bias_;
};

std::unique_ptr<Block> create(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<ShortConv>(c, info, w);
}

}  // namespace

SEQC_DECLARE_CUDA_FACTORY(create_cuda_short_conv);

extern const PluginDesc plugin_layer_short_conv = {
    .kind = PluginKind::layer,
    .name = "layer/short_conv",
    .version = 1,
    .summary = "causal depthwise conv1d with streaming state (PyTorch Conv1d [C,1,K] weight), optional SiLU",
    .schema = kSchema,
    .info = info,
    .create_cpu = create,
    .create_cuda = SEQC_CUDA_FACTORY(create_cuda_short_conv),
    .test_configs = kTestConfigs,
    .forward_exact = true,
};

}  // namespace seqc
