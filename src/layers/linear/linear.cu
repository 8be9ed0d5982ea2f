// layer/linear on CUDA: y = x W^T + b with W in PyTorch's [out, in] layout,
// one cuBLAS FP32 GEMM (a GEMV for one row) and a bias add.
#include "cuda/cuda_common.cuh"

namespace seqc {

namespace {

class CudaLinear final : public Block {
 public:
  CudaLinear(const Config& c, const BlockInfo& info, const WeightSource& w)
      : in_(info.in_width),
        out_(info.out_width),
        w_(cuda::DeviceArray::upload(w.get("weight"), size_t(info.out_width * info.in_width))),
        bias_(c.b("bias") ? cuda::DeviceArray::upload(w.get("bias"), size_t(info.out_width)) : cuda::DeviceArray()) {}

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs&) const override {
    const int64_t rows = B * T;
    if (rows <= 0) return;
    const cuda::Ctx& c = cuda::ctx_of(ctx);
    cuda::gemm_nt(c, rows, out_, in_, x, in_, w_.data(), in_, y, out_);
    if (!bias_.empty()) cuda::add_bias(c, y, bias_.data(), rows, out_);
  }

  size_t weight_bytes() const override { return w_.bytes() + bias_.bytes(); }

 private:
  int64_t in_, out_;
  cuda::DeviceArray w_, bias_;
};

}  // namespace

std::unique_ptr<Block> create_cuda_linear(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<CudaLinear>(c, info, w);
}

}  // namespace seqc
