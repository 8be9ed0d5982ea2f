// layer/embedding on CUDA: token id -> row of the [num_embeddings,
// embedding_dim] table, one thread block per output row.
#include <cstdint>

#include "cuda/cuda_common.cuh"

namespace seqc {

namespace {

// y[r, :] = table[ids[r], :] as f32, the table in T (f32, bf16 or f16).
// Block r (grid-stride over rows) copies one row; an id outside [0, vocab)
// (the contract says none comes) gives a zero row instead of a read out of
// bounds. vec4 (f32 only): dim % 4 == 0 and both bases 16-byte aligned, so
// every row start is too.
template <typename T, bool vec4>
__global__ void gather_rows(const T* __restrict__ table, const int32_t* __restrict__ ids, float* __restrict__ y,
                            int64_t rows, int64_t dim, int64_t vocab) {
  cuda::pdl_wait();  // see launch_pdl
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t id = ids[r];
    const bool ok = id >= 0 && id < vocab;
    float* yr = y + r * dim;
    const T* src = table + (ok ? id : 0) * dim;
    if constexpr (vec4) {
      const float4* s4 = reinterpret_cast<const float4*>(src);
      float4* dst = reinterpret_cast<float4*>(yr);
      for (int64_t i = threadIdx.x; i < dim / 4; i += blockDim.x)
        dst[i] = ok ? s4[i] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    } else {
      for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = ok ? cuda::to_float(src[i]) : 0.0f;
    }
  }
}

// Launches gather_rows for a table of T.
template <typename T, bool vec4>
void gather(const cuda::Ctx& c, const void* table, const int32_t* ids, float* y, int64_t rows, int64_t dim,
            int64_t vocab, unsigned grid, int threads) {
  cuda::launch_pdl(c, gather_rows<T, vec4>, grid, threads, 0, "layer/embedding gather",
                   static_cast<const T*>(table), ids, y, rows, dim, vocab);
}

class CudaEmbedding final : public Block {
 public:
  CudaEmbedding(const BlockInfo& info, const WeightSource& w)
      : vocab_(info.vocab),
        dim_(info.out_width),
        table_(cuda::Matrix::upload(w.get_matrix("weight"), info.vocab, info.out_width, w.matrix_dtype())) {}

  void run(RunCtx&, const float*, float*, int64_t, int64_t, const StateRefs&) const override {
    fail(Code::internal, "layer/embedding consumes tokens");
  }

  void run_tokens(RunCtx& ctx, const int32_t* ids, float* y, int64_t rows) const override {
    if (rows <= 0) return;
    const cuda::Ctx& c = cuda::ctx_of(ctx);
    const bool vec4 = table_.dtype() == DType::f32 && dim_ % 4 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0 &&
                      reinterpret_cast<uintptr_t>(table_.data()) % 16 == 0;
    const int64_t per_row = vec4 ? dim_ / 4 : dim_;
    // Threads: enough for one pass over a row, 32 to 256.
    int threads = int(per_row < 256 ? (per_row + 31) / 32 * 32 : 256);
    if (threads < 32) threads = 32;
    const unsigned grid = unsigned(rows < 65535 ? rows : 65535);
    const void* t = table_.data();
    if (table_.dtype() == DType::bf16)
      gather<__nv_bfloat16, false>(c, t, ids, y, rows, dim_, vocab_, grid, threads);
    else if (table_.dtype() == DType::f16)
      gather<__half, false>(c, t, ids, y, rows, dim_, vocab_, grid, threads);
    else if (vec4)
      gather<float, true>(c, t, ids, y, rows, dim_, vocab_, grid, threads);
    else
      gather<float, false>(c, t, ids, y, rows, dim_, vocab_, grid, threads);
  }

  size_t weight_bytes() const override { return table_.bytes(); }
  size_t step_read_bytes() const override { return size_t(dim_) * dtype_size(table_.dtype()); }

 private:
  int64_t vocab_, dim_;
  cuda::Matrix table_;
};

}  // namespace

std::unique_ptr<Block> create_cuda_embedding(const Config&, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<CudaEmbedding>(info, w);
}

}  // namespace seqc
