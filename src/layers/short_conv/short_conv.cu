// layer/short_conv on CUDA: the device causal conv (causal_conv.cuh) with the
// CPU block's weights (tap-major [K, C] after pack_conv_weight) and state
// (`conv [K-1, C]`, oldest row first; none when K = 1). x -> y directly, no
// scratch.
#include <memory>
#include <vector>

#include "core/plugin.hpp"
#include "cuda/cuda_common.cuh"
#include "layers/short_conv/causal_conv.cuh"
#include "layers/short_conv/causal_conv.hpp"

namespace seqc {

namespace {

class CudaShortConv final : public Block {
 public:
  CudaShortConv(const Config& c, const BlockInfo& info, const WeightSource& w)
      : C_(info.in_width), K_(c.i("kernel_size")),
        act_(c.s("activation") == "silu" ? conv::Act::silu : conv::Act::none) {
    std::vector<float> packed(size_t(C_ * K_));
    conv::pack_conv_weight(w.get("weight"), C_, K_, packed.data());
    w_ = cuda::DeviceArray::upload(packed.data(), packed.size());
    if (c.b("bias")) bias_ = cuda::DeviceArray::upload(w.get("bias"), size_t(C_));
  }

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs& st) const override {
    const cuda::Ctx& cu = cuda::ctx_of(ctx);
    cuda::causal_conv(cu, x, C_, y, C_, B, T, C_, K_, w_.data(), bias_.empty() ? nullptr : bias_.data(), st.streams,
                      K_ > 1 ? st.offsets[0] : 0, act_);
  }

  size_t weight_bytes() const override { return w_.bytes() + bias_.bytes(); }

 private:
  int64_t C_, K_;
  conv::Act act_;
  cuda::DeviceArray w_;  // [K, C]
  cuda::DeviceArray bias_;
};

}  // namespace

std::unique_ptr<Block> create_cuda_short_conv(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<CudaShortConv>(c, info, w);
}

}  // namespace seqc
