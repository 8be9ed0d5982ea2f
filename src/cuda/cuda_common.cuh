// Shared helpers of the CUDA backend: the per-runtime context, error checks,
// owned device arrays for weights, the cuBLAS GEMM wrapper and launch sizes.
// Included by .cu files only (nvcc); core code sees src/cuda/cuda_api.hpp.
//
// The contract of a CUDA block (Block::run on a CUDA runtime):
//   * x, y and token ids are device pointers; ctx.ws.alloc<T>() returns device
//     memory (the workspace of a CUDA model lives on the device).
//   * state.streams is a DEVICE array of B device pointers, one stream state
//     base each; state.offsets is a HOST array of this block's tensor offsets.
//     Tensor j of stream b is (float*)(streams[b] + offsets[j]) on the device.
//   * Work is enqueued on ctx.cu->stream (the runtime's one CUDA stream) and
//     never synchronises the device; cuBLAS runs on the same stream.
//   * Nothing allocates device memory on the run path (weights are uploaded
//     at load, scratch comes from ctx.ws).
#pragma once

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>

#include "core/dtype.hpp"
#include "core/plugin.hpp"
#include "core/status.hpp"
#include "core/workspace.hpp"

namespace seqc::cuda {

struct Ctx {
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  int device = 0;
  int sm_count = 0;
  std::mutex* submit = nullptr;  // see submit_lock() in cuda_api.hpp
};

[[noreturn]] void fail_cuda(cudaError_t e, const char* what);
[[noreturn]] void fail_cublas(cublasStatus_t s, const char* what);
inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail_cuda(e, what);
}
inline void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) fail_cublas(s, what);
}
// After a kernel launch: reports launch-configuration errors at once.
inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

// Owned device memory holding floats (weights, biases). Upload is synchronous
// (load time only). Move-only.
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(size_t n_floats);
  static DeviceArray upload(const float* host, size_t n_floats);
  DeviceArray(DeviceArray&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; o.n_ = 0; }
  DeviceArray& operator=(DeviceArray&& o) noexcept;
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray();
  float* data() const { return p_; }
  size_t size() const { return n_; }  // floats
  size_t bytes() const { return n_ * sizeof(float); }
  bool empty() const { return n_ == 0; }

 private:
  float* p_ = nullptr;
  size_t n_ = 0;
};

// A weight matrix W[N, K] (PyTorch nn.Linear layout, row-major) on the
// device, held in f32, bf16 or f16 (the model's weight dtype). Products:
//   * M <= kGemvRows rows (a step, a few streams): our GEMV kernel, reading
//     the stored dtype, x in f32, f32 accumulation; bandwidth-bound.
//   * more rows, f32: cuBLAS SGEMM (full FP32, no TF32).
//   * more rows, bf16/f16: x rounded to the dtype in workspace scratch, then
//     cuBLAS GemmEx on the tensor cores with f32 accumulation and output.
// Move-only; upload is synchronous (load time).
inline constexpr int64_t kGemvRows = 8;

struct MatArgs {
  bool accumulate = false;      // y += x W^T instead of y =
  const float* bias = nullptr;  // [N], added to each row (device)
  int64_t k0 = 0;               // use the columns [k0, k0 + kn) of W
  int64_t kn = -1;              // -1: all K - k0
};

class Matrix {
 public:
  Matrix() = default;
  // host: N x K floats, already rounded to dt by WeightSource::get_matrix.
  static Matrix upload(const float* host, int64_t N, int64_t K, DType dt);
  Matrix(Matrix&& o) noexcept { *this = std::move(o); }
  Matrix& operator=(Matrix&& o) noexcept;
  Matrix(const Matrix&) = delete;
  Matrix& operator=(const Matrix&) = delete;
  ~Matrix();

  // y[M, N] (=|+=) x[M, kn] W[:, k0:k0+kn]^T (+ bias); x and y row-major f32
  // with leading dimensions ldx, ldy; scratch from rc.ws.
  void apply(RunCtx& rc, int64_t M, const float* x, int64_t ldx, float* y, int64_t ldy,
             const MatArgs& a = {}) const;
  // Whether apply rounds M rows of x to dtype() before its product (2-byte
  // matrices, more than kGemvRows rows). A producer may then write its
  // output rounded (the same round-to-nearest) and call apply_rounded,
  // sparing apply's rounding kernel.
  bool rounds_input(int64_t M) const { return dt_ != DType::f32 && M > kGemvRows; }
  // apply for an input already rounded to dtype(): xh [M, kn] with leading
  // dimension ldxh (elements); needs rounds_input(M) and no scratch.
  void apply_rounded(RunCtx& rc, int64_t M, const void* xh, int64_t ldxh, float* y, int64_t ldy,
                     const MatArgs& a = {}) const;
  // Workspace apply needs for M rows.
  size_t scratch_bytes(int64_t M) const;
  size_t bytes() const { return size_t(N_ * K_) * dtype_size(dt_); }
  int64_t N() const { return N_; }
  int64_t K() const { return K_; }
  DType dtype() const { return dt_; }
  const void* data() const { return p_; }
  bool empty() const { return p_ == nullptr; }

 private:
  void* p_ = nullptr;
  int64_t N_ = 0, K_ = 0;
  DType dt_ = DType::f32;
};

// The cuBLAS products behind Matrix (K > 0): y[M, N] = x[M, K] * W^T + beta * y,
// all row-major: x with leading dimension ldx, W[N, K] in PyTorch nn.Linear
// layout with leading dimension ldw, y with ldy. Full FP32 (no TF32).
void gemm_nt(const Ctx& c, int64_t M, int64_t N, int64_t K, const float* x, int64_t ldx, const float* W,
             int64_t ldw, float* y, int64_t ldy, float beta = 0.0f);

// y[r, :n] += bias for r < rows (row r at y + r * ldy).
void add_bias(const Ctx& c, float* y, int64_t ldy, const float* bias, int64_t rows, int64_t n);

// out[(l * B + b) * W + j] = float j of row l of the state tensor at byte
// offset `off` ([L, W] per stream) of stream b: a recurrent block's per-layer
// state rows of all B streams, gathered into one [L, B, W] buffer.
void gather_state_rows(const Ctx& c, std::byte* const* streams, size_t off, float* out, int64_t L, int64_t B,
                       int64_t W);

// Half-precision GEMM for Matrix: y[M, N] = xh[M, K] W[N, K]^T + beta y with
// xh and W in dt (bf16 or f16), f32 accumulation and output, on the tensor
// cores.
void gemm_nt_half(const Ctx& c, DType dt, int64_t M, int64_t N, int64_t K, const void* xh, int64_t ldx,
                  const void* W, int64_t ldw, float* y, int64_t ldy, float beta);

// Grid size for n work items at `threads` per block (at least 1).
inline unsigned grid_for(int64_t n, int threads) {
  const int64_t g = (n + threads - 1) / threads;
  return unsigned(g < 1 ? 1 : g);
}

// The runtime's context inside a block's run (fails if the block runs on a
// CPU runtime by mistake).
inline const Ctx& ctx_of(const RunCtx& rc) {
  SEQC_CHECK(rc.cu != nullptr);
  return *rc.cu;
}

// Programmatic dependent launch (PDL): a kernel launched with launch_pdl
// may be scheduled while its predecessor on the stream is still running, so
// its launch latency hides behind the predecessor's tail. It must call
// pdl_wait() before it reads anything the predecessor wrote or writes
// anything the predecessor reads (a no-op for kernels launched normally).
// SEQC_CUDA_PDL=0 turns it off (launches then behave as <<<>>>).
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  cudaGridDependencySynchronize();
#endif
}

bool pdl_enabled() noexcept;

template <typename... P, typename... A>
void launch_pdl(const Ctx& c, void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, const char* what,
                A&&... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = c.stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = pdl_enabled() ? 1 : 0;
  cfg.attrs = attr;
  cfg.numAttrs = 1;
  check(cudaLaunchKernelEx(&cfg, kernel, std::forward<A>(args)...), what);
}

// Whether p allows 16-byte (float4) loads and stores.
__host__ __device__ inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// The RMS norm of layer/rmsnorm (src/layers/norm/norm.cu) over rows of
// n.dim floats, for blocks that absorb it (RunCtx::in_norm). x may be y.
void rms_norm(const Ctx& c, const float* x, float* y, int64_t rows, const InputNorm& n);

// ---------------------------------------------------------------- persistent kernels
//
// A persistent kernel runs one grid of at most one block per SM through
// several phases separated by grid-wide barriers, instead of one launch per
// phase: a batch-1 step of a mixer is a chain of small dependent products,
// and the launches between them cost more than the products.
//
// launch_persistent launches it cooperatively (the driver guarantees that
// all blocks are resident at once, or refuses the launch) and with PDL.
// Callers check that the device allows cooperative launches
// (cudaDevAttrCooperativeLaunch) and persistent_enabled()
// (SEQC_CUDA_PERSISTENT is not 0; for comparison).
bool persistent_enabled() noexcept;

template <typename... P, typename... A>
void launch_persistent(const Ctx& c, void (*kernel)(P...), unsigned grid, unsigned block, size_t smem,
                       const char* what, A&&... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(grid);
  cfg.blockDim = dim3(block);
  cfg.dynamicSmemBytes = smem;
  cfg.stream = c.stream;
  cudaLaunchAttribute attr[2];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = pdl_enabled() ? 1 : 0;
  attr[1].id = cudaLaunchAttributeCooperative;
  attr[1].val.cooperative = 1;
  cfg.attrs = attr;
  cfg.numAttrs = 2;
  check(cudaLaunchKernelEx(&cfg, kernel, std::forward<A>(args)...), what);
}

// Grid-wide barrier of a persistent kernel. ctr is a 64-bit counter in
// device memory, zero before its first use, that only one grid uses at a
// time (launches of one block's kernel follow each other in stream order).
// Every block adds 1 per barrier, so the counter stays a multiple of
// gridDim.x between barriers and needs no reset between launches: a block
// arriving at value v waits for the next multiple of the grid size. The
// writes of the whole block before the barrier are visible to every block
// after it: the block barrier orders them before thread 0's release at GPU
// scope, and the acquire that sees the last arrival orders the block's
// reads after it (the pattern of CUTLASS's GenericBarrier; a full fence on
// each side adds nothing but time).
__device__ __forceinline__ void grid_barrier(unsigned long long* ctr) {
  __syncthreads();
  if (threadIdx.x == 0) {
    const unsigned long long G = gridDim.x;
    unsigned long long old, now;
    asm volatile("atom.add.release.gpu.u64 %0, [%1], 1;" : "=l"(old) : "l"(ctr) : "memory");
    const unsigned long long target = (old / G + 1) * G;
    do {
      asm volatile("ld.acquire.gpu.u64 %0, [%1];" : "=l"(now) : "l"(ctr) : "memory");
    } while (now < target);
  }
  __syncthreads();
}

// Lets the next kernel on the stream (launched with PDL) start: it may then
// run up to its pdl_wait(), which still waits for this whole grid.
__device__ __forceinline__ void pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  cudaTriggerProgrammaticLaunchCompletion();
#endif
}

// Asks L2 for [p, p + bytes) by the block's threads, a 128-byte line each
// (p + bytes must stay inside one allocation). A kernel fetches the weights
// it is about to read before waiting for its predecessor.
__device__ __forceinline__ void prefetch_l2(const void* p, size_t bytes) {
  const char* b = static_cast<const char*>(p);
  for (size_t off = size_t(threadIdx.x) * 128; off < bytes; off += size_t(blockDim.x) * 128)
    asm volatile("prefetch.global.L2 [%0];" ::"l"(b + off));
}

// 16 bytes of a weight row as floats: Vec16<WT>::n elements (4 f32 or 8
// halves) from a 16-byte aligned address.
template <typename WT>
struct Vec16;
template <>
struct Vec16<float> {
  static constexpr int n = 4;
  __device__ __forceinline__ static void load(const float* p, float* o) {
    const float4 v = __ldg(reinterpret_cast<const float4*>(p));
    o[0] = v.x, o[1] = v.y, o[2] = v.z, o[3] = v.w;
  }
  __device__ __forceinline__ static void load_any(const float* p, float* o) {  // global or shared
    const float4 v = *reinterpret_cast<const float4*>(p);
    o[0] = v.x, o[1] = v.y, o[2] = v.z, o[3] = v.w;
  }
};
template <>
struct Vec16<__nv_bfloat16> {
  static constexpr int n = 8;
  __device__ __forceinline__ static void load(const __nv_bfloat16* p, float* o) {
    unpack(__ldg(reinterpret_cast<const uint4*>(p)), o);
  }
  __device__ __forceinline__ static void load_any(const __nv_bfloat16* p, float* o) {
    unpack(*reinterpret_cast<const uint4*>(p), o);
  }
  __device__ __forceinline__ static void unpack(const uint4 v, float* o) {
    const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      o[2 * i] = __uint_as_float(w[i] << 16);
      o[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
  }
};
template <>
struct Vec16<__half> {
  static constexpr int n = 8;
  __device__ __forceinline__ static void load(const __half* p, float* o) {
    unpack(__ldg(reinterpret_cast<const uint4*>(p)), o);
  }
  __device__ __forceinline__ static void load_any(const __half* p, float* o) {
    unpack(*reinterpret_cast<const uint4*>(p), o);
  }
  __device__ __forceinline__ static void unpack(const uint4 v, float* o) {
    const __half2* h = reinterpret_cast<const __half2*>(&v);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 f = __half22float2(h[i]);
      o[2 * i] = f.x, o[2 * i + 1] = f.y;
    }
  }
};

// Device math shared by kernels.
// A stored weight element as f32.
__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }
__device__ __forceinline__ float siluf_(float x) { return x / (1.0f + expf(-x)); }
// softplus as cpu::vsoftplus computes it: log1p(exp(x)), x for x > 20.
__device__ __forceinline__ float softplusf_(float x) { return x > 20.0f ? x : log1pf(expf(x)); }
// The sum of W (a power of two, <= 32) partial sums by the pairwise tree
// l[i] += l[i + s] for s = W/2, ..., 1 (lane 0 holds the sum): for W = 16 the
// CPU's canonical 16-lane reduction (cpu/vmath.hpp).
template <int W>
__device__ __forceinline__ float tree_sum(const float* part) {
  static_assert(W >= 1 && W <= 32 && (W & (W - 1)) == 0);
  float l[W];
#pragma unroll
  for (int j = 0; j < W; ++j) l[j] = part[j];
  if constexpr (W >= 32) {
#pragma unroll
    for (int j = 0; j < 16; ++j) l[j] = __fadd_rn(l[j], l[j + 16]);
  }
  if constexpr (W >= 16) {
#pragma unroll
    for (int j = 0; j < 8; ++j) l[j] = __fadd_rn(l[j], l[j + 8]);
  }
  if constexpr (W >= 8) {
#pragma unroll
    for (int j = 0; j < 4; ++j) l[j] = __fadd_rn(l[j], l[j + 4]);
  }
  if constexpr (W >= 4) {
    l[0] = __fadd_rn(l[0], l[2]);
    l[1] = __fadd_rn(l[1], l[3]);
  }
  if constexpr (W >= 2) l[0] = __fadd_rn(l[0], l[1]);
  return l[0];
}

// Four floats from a 16-byte aligned address.
__device__ __forceinline__ float4 ld4(const float* p) { return *reinterpret_cast<const float4*>(p); }

__device__ __forceinline__ float* state_f32(std::byte* const* streams, int64_t b, size_t offset) {
  return reinterpret_cast<float*>(streams[b] + offset);
}

}  // namespace seqc::cuda
