// layer/rmsnorm and layer/layernorm on CUDA: one thread block per row,
// fp32 reductions (fmaf per thread, then warp shuffles and one shared-memory
// step across warps, in a fixed order: results do not depend on B or T).
// The elementwise tail keeps the CPU's operation order (x * inv, then
// * scale; (x - mean) * inv, then * weight, then + bias) with explicit
// round-to-nearest intrinsics, so nvcc does not contract it into fmas.
// Rows may be processed in place (x == y): every read of a row happens
// before the block's barrier inside the last reduction, every write after.
#include <vector>

#include "cuda/cuda_common.cuh"

namespace seqc {

namespace {

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int s = 16; s >= 1; s >>= 1) v += __shfl_xor_sync(0xffffffffu, v, s);
  return v;
}

// Sum of v over the block (blockDim.x a multiple of 32, at most 1024),
// returned to every thread. sh holds 32 floats; the leading barrier makes it
// safe to call again right after a previous call.
__device__ __forceinline__ float block_sum(float v, float* sh) {
  v = warp_sum(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  return warp_sum(lane < nwarps ? sh[lane] : 0.0f);
}

// y = x * (1 / sqrt(mean(x^2) + eps)) * scale  (scale = weight + offset)
__global__ void rmsnorm_kernel(const float* x, float* y, const float* __restrict__ scale, int64_t rows,
                               int64_t dim, float eps) {
  cuda::pdl_wait();  // see launch_pdl
  __shared__ float sh[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    float acc = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) acc = fmaf(xr[i], xr[i], acc);
    const float ss = block_sum(acc, sh);
    const float inv = 1.0f / sqrtf(ss / float(dim) + eps);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = __fmul_rn(__fmul_rn(xr[i], inv), scale[i]);
  }
}

// y = (x - mean) * (1 / sqrt(var + eps)) [* weight] [+ bias], two-pass
// variance (sum of squared deviations of the rounded x - mean).
__global__ void layernorm_kernel(const float* x, float* y, const float* __restrict__ weight,
                                 const float* __restrict__ bias, int64_t rows, int64_t dim, float eps) {
  cuda::pdl_wait();  // see launch_pdl
  __shared__ float sh[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    float acc = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) acc += xr[i];
    const float mean = block_sum(acc, sh) / float(dim);
    acc = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      const float d = __fsub_rn(xr[i], mean);
      acc = fmaf(d, d, acc);
    }
    const float inv = 1.0f / sqrtf(block_sum(acc, sh) / float(dim) + eps);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      float v = __fmul_rn(__fsub_rn(xr[i], mean), inv);
      if (weight) v = __fmul_rn(v, weight[i]);
      if (bias) v = __fadd_rn(v, bias[i]);
      yr[i] = v;
    }
  }
}

// Threads per row: one pass over the row where it fits, 32 to 512.
int threads_for(int64_t dim) {
  const int64_t t = (dim + 31) / 32 * 32;
  return int(t < 32 ? 32 : t > 512 ? 512 : t);
}

unsigned grid_rows(int64_t rows) { return unsigned(rows < 65535 ? rows : 65535); }

}  // namespace

void cuda::rms_norm(const Ctx& c, const float* x, float* y, int64_t rows, const InputNorm& n) {
  if (rows <= 0) return;
  launch_pdl(c, rmsnorm_kernel, grid_rows(rows), threads_for(n.dim), 0, "layer/rmsnorm", x, y, n.scale, rows, n.dim,
             n.eps);
}

namespace {

class CudaRmsNorm final : public Block {
 public:
  CudaRmsNorm(const Config& c, const BlockInfo& info, const WeightSource& w)
      : dim_(info.in_width), eps_(float(c.f("eps"))) {
    // scale = weight + offset, added in float on the host exactly as the CPU block does.
    const float* src = w.get("weight");
    const float off = float(c.f("weight_offset"));
    std::vector<float> s(static_cast<size_t>(dim_));
    for (int64_t i = 0; i < dim_; ++i) s[size_t(i)] = src[i] + off;
    scale_ = cuda::DeviceArray::upload(s.data(), s.size());
    norm_ = {scale_.data(), dim_, eps_};
  }

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs&) const override {
    cuda::rms_norm(cuda::ctx_of(ctx), x, y, B * T, norm_);
  }

  size_t weight_bytes() const override { return scale_.bytes(); }
  const InputNorm* as_input_norm() const override { return &norm_; }

 private:
  int64_t dim_;
  float eps_;
  cuda::DeviceArray scale_;
  InputNorm norm_;
};

class CudaLayerNorm final : public Block {
 public:
  CudaLayerNorm(const Config& c, const BlockInfo& info, const WeightSource& w)
      : dim_(info.in_width), eps_(float(c.f("eps"))) {
    if (c.b("elementwise_affine")) {
      weight_ = cuda::DeviceArray::upload(w.get("weight"), size_t(dim_));
      if (c.b("bias")) bias_ = cuda::DeviceArray::upload(w.get("bias"), size_t(dim_));
    }
  }

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs&) const override {
    const int64_t rows = B * T;
    if (rows <= 0) return;
    const cuda::Ctx& c = cuda::ctx_of(ctx);
    layernorm_kernel<<<grid_rows(rows), threads_for(dim_), 0, c.stream>>>(
        x, y, weight_.empty() ? nullptr : weight_.data(), bias_.empty() ? nullptr : bias_.data(), rows, dim_,
        eps_);
    cuda::check_launch("layer/layernorm");
  }

  size_t weight_bytes() const override { return weight_.bytes() + bias_.bytes(); }

 private:
  int64_t dim_;
  float eps_;
  cuda::DeviceArray weight_, bias_;
};

}  // namespace

std::unique_ptr<Block> create_cuda_rmsnorm(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<CudaRmsNorm>(c, info, w);
}

std::unique_ptr<Block> create_cuda_layernorm(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<CudaLayerNorm>(c, info, w);
}

}  // namespace seqc
