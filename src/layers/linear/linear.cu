// layer/linear on CUDA: y = x W^T + b with W in PyTorch's [out, in] layout, in
// the model's weight dtype: one cuda::Matrix product with the bias fused
// (and the residual add, when the graph fuses one into this block).
#include "cuda/cuda_common.cuh"

namespace seqc {

namespace {

class CudaLinear final : public Block {
 public:
  CudaLinear(const Config& c, const BlockInfo& info, const WeightSource& w)
      : in_(info.in_width),
        out_(info.out_width),
        w_(cuda::Matrix::upload(w.get_matrix("weight"), info.out_width, info.in_width, w.matrix_dtype())),
        bias_(c.b("bias") ? cuda::DeviceArray::upload(w.get("bias"), size_t(info.out_width)) : cuda::DeviceArray()) {}

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs&) const override {
    const int64_t rows = B * T;
    if (rows <= 0) return;
    cuda::MatArgs a;
    a.accumulate = ctx.accumulate;
    a.bias = bias_.empty() ? nullptr : bias_.data();
    w_.apply(ctx, rows, x, in_, y, out_, a);
  }

  size_t scratch_bytes(int64_t B, int64_t T) const override { return w_.scratch_bytes(B * T); }
  size_t weight_bytes() const override { return w_.bytes() + bias_.bytes(); }
  bool accumulates() const override { return true; }

 private:
  int64_t in_, out_;
  cuda::Matrix w_;
  cuda::DeviceArray bias_;
};

}  // namespace

std::unique_ptr<Block> create_cuda_linear(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<CudaLinear>(c, info, w);
}

}  // namespace seqc
