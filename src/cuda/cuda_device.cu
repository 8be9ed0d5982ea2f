// The CUDA device: device discovery, memory, copies, the runtime's stream and
// cuBLAS handle, and the few kernels the graph itself needs (residual add).
// Uses the runtime API only (no driver API: CI machines have the toolkit but
// no libcuda.so.1).
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/runtime.hpp"
#include "cuda/cuda_api.hpp"
#include "cuda/cuda_common.cuh"
#include "cuda/topk.cuh"

namespace seqc::cuda {

int device_count() noexcept {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    // No driver (cudaErrorInsufficientDriver) or no device: clear the sticky
    // error and report none.
    (void)cudaGetLastError();
    return 0;
  }
  return n;
}

bool built() noexcept { return true; }

void fail_cuda(cudaError_t e, const char* what) {
  (void)cudaGetLastError();  // clear a non-sticky error so later calls start clean
  fail(e == cudaErrorMemoryAllocation ? Code::out_of_memory : Code::internal, what, ": CUDA error ",
       int(e), " (", cudaGetErrorName(e), ": ", cudaGetErrorString(e), ")");
}

namespace {

// cuBLAS is opened when the first CUDA runtime is made, not linked: a
// program that only uses the CPU never loads its ~700 MB of libraries.
struct Blas {
  void* lib = nullptr;
  std::string error;
  cublasStatus_t (*create)(cublasHandle_t*) = nullptr;
  cublasStatus_t (*destroy)(cublasHandle_t) = nullptr;
  cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t) = nullptr;
  cublasStatus_t (*set_math_mode)(cublasHandle_t, cublasMath_t) = nullptr;
  const char* (*status_name)(cublasStatus_t) = nullptr;
  decltype(&cublasSgemm_v2) sgemm = nullptr;
  cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                            const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                            cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
};

const Blas& blas() {
  static const Blas b = [] {
    Blas x;
    const std::string name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
    x.lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!x.lib) {
      const char* e = dlerror();
      x.error = "cannot load " + name + " (" + (e ? e : "unknown error") + ")";
      return x;
    }
    auto sym = [&](auto& fn, const char* n) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(x.lib, n));
      if (!fn && x.error.empty()) x.error = std::string(name) + " has no symbol " + n;
    };
    sym(x.create, "cublasCreate_v2");
    sym(x.destroy, "cublasDestroy_v2");
    sym(x.set_stream, "cublasSetStream_v2");
    sym(x.set_math_mode, "cublasSetMathMode");
    x.status_name = reinterpret_cast<const char* (*)(cublasStatus_t)>(dlsym(x.lib, "cublasGetStatusName"));
    sym(x.sgemm, "cublasSgemm_v2");
    sym(x.gemm_ex, "cublasGemmEx");
    return x;
  }();
  if (!b.error.empty()) fail(Code::unsupported, "the CUDA backend needs cuBLAS: ", b.error);
  return b;
}

}  // namespace

void fail_cublas(cublasStatus_t s, const char* what) {
  fail(s == CUBLAS_STATUS_ALLOC_FAILED ? Code::out_of_memory : Code::internal, what, ": cuBLAS error ", int(s),
       " (", blas().status_name ? blas().status_name(s) : "no name", ")");
}

namespace {

// Makes `dev` current for the calling thread (the CUDA current device is per
// thread; a runtime may be used from any thread).
void use(int dev) { check(cudaSetDevice(dev), "cudaSetDevice"); }

class CudaDevice final : public Device {
 public:
  explicit CudaDevice(int index) {
    ctx_.device = index;
    ctx_.submit = &submit_;
    use(index);
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
    name_ = std::string("cuda:") + std::to_string(index) + " (" + prop.name + ", sm_" +
            std::to_string(prop.major) + std::to_string(prop.minor) + ")";
    ctx_.sm_count = prop.multiProcessorCount;
    const Blas& b = blas();
    check(cudaStreamCreateWithFlags(&ctx_.stream, cudaStreamNonBlocking), "cudaStreamCreate");
    const cublasStatus_t s = b.create(&ctx_.blas);
    if (s != CUBLAS_STATUS_SUCCESS) {
      cudaStreamDestroy(ctx_.stream);
      fail_cublas(s, "cublasCreate");
    }
    make_pool(index);
    cublasStatus_t st = b.set_stream(ctx_.blas, ctx_.stream);
    // Full FP32 products: the CPU backend is the numeric reference.
    if (st == CUBLAS_STATUS_SUCCESS) st = b.set_math_mode(ctx_.blas, CUBLAS_PEDANTIC_MATH);
    if (st != CUBLAS_STATUS_SUCCESS) {
      b.destroy(ctx_.blas);
      cudaStreamDestroy(ctx_.stream);
      fail_cublas(st, "configuring cuBLAS");
    }
  }
  ~CudaDevice() override {
    cudaSetDevice(ctx_.device);
    cudaStreamSynchronize(ctx_.stream);
    blas().destroy(ctx_.blas);
    cudaStreamDestroy(ctx_.stream);
    // Blocks still allocated from the pool (none, when every handle was
    // released) keep it alive until they are freed.
    if (pool_) cudaMemPoolDestroy(pool_);
  }
  DeviceKind kind() const override { return DeviceKind::cuda; }
  int index() const override { return ctx_.device; }
  std::string name() const override { return name_; }
  // Stream states and workspaces come from the runtime's own memory pool,
  // in the order of its CUDA stream: creating or destroying a stream neither
  // calls cudaMalloc/cudaFree nor waits for the device (a freed block is
  // reused once the work queued before the free is done). Without pool
  // support, plain cudaMalloc/cudaFree (which wait).
  void* allocate(size_t bytes) override {
    std::lock_guard<std::mutex> lock(submit_);
    use(ctx_.device);
    const size_t n = align_up(bytes ? bytes : 1);
    void* p = nullptr;
    if (pool_) {
      check(cudaMallocFromPoolAsync(&p, n, pool_, ctx_.stream), "allocating device memory (pool)");
    } else {
      check(cudaMalloc(&p, n), "cudaMalloc");
    }
    const cudaError_t e = cudaMemsetAsync(p, 0, n, ctx_.stream);
    if (e != cudaSuccess) {
      release(p);
      fail_cuda(e, "zeroing device memory");
    }
    return p;
  }
  void deallocate(void* p) noexcept override {
    std::lock_guard<std::mutex> lock(submit_);
    cudaSetDevice(ctx_.device);
    release(p);
  }
  void copy_from_host(void* dst, const void* src, size_t bytes) override {
    std::lock_guard<std::mutex> lock(submit_);
    use(ctx_.device);
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx_.stream), "copy to the device");
    check(cudaStreamSynchronize(ctx_.stream), "copy to the device");
  }
  void copy_to_host(void* dst, const void* src, size_t bytes) override {
    std::lock_guard<std::mutex> lock(submit_);
    use(ctx_.device);
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx_.stream), "copy from the device");
    check(cudaStreamSynchronize(ctx_.stream), "copy from the device");
  }
  void copy_within(void* dst, const void* src, size_t bytes) override {
    std::lock_guard<std::mutex> lock(submit_);
    use(ctx_.device);
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx_.stream), "copy on the device");
    check(cudaStreamSynchronize(ctx_.stream), "copy on the device");
  }
  void fill_zero(void* dst, size_t bytes) override {
    std::lock_guard<std::mutex> lock(submit_);
    use(ctx_.device);
    check(cudaMemsetAsync(dst, 0, bytes, ctx_.stream), "zeroing device memory");
    check(cudaStreamSynchronize(ctx_.stream), "zeroing device memory");
  }
  const Ctx* cuda_ctx() const override { return &ctx_; }

 private:
  // The runtime's pool on its device (null where memory pools are not
  // supported): freed blocks stay in it for reuse (no release threshold).
  void make_pool(int index) {
    int supported = 0;
    if (cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, index) != cudaSuccess || !supported)
      return;
    cudaMemPoolProps props{};
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = index;
    if (cudaMemPoolCreate(&pool_, &props) != cudaSuccess) {
      cudaGetLastError();
      pool_ = nullptr;
      return;
    }
    uint64_t keep = UINT64_MAX;
    cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &keep);
  }
  // Caller holds submit_ (or is the destructor).
  void release(void* p) noexcept {
    if (!p) return;
    if (pool_) {
      cudaFreeAsync(p, ctx_.stream);
    } else {
      // Work still queued may use p: let it finish first.
      cudaStreamSynchronize(ctx_.stream);
      cudaFree(p);
    }
  }

  Ctx ctx_;
  std::mutex submit_;
  std::string name_;
  cudaMemPool_t pool_ = nullptr;
};

__global__ void add_kernel(float* __restrict__ y, const float* __restrict__ x, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] += x[i];
}

__global__ void bias_kernel(float* __restrict__ y, int64_t ldy, const float* __restrict__ b, int64_t rows,
                            int64_t n) {
  const int64_t total = rows * n;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x)
    y[(i / n) * ldy + i % n] += b[i % n];
}

__global__ void gather_state_rows_kernel(std::byte* const* streams, size_t off, float* __restrict__ out, int64_t L,
                                         int64_t B, int64_t W) {
  const int64_t n = L * B * W;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = i % W, b = (i / W) % B, l = i / (W * B);
    out[i] = state_f32(streams, b, off)[l * W + j];
  }
}

unsigned capped_grid(const Ctx& c, int64_t n, int threads) {
  const unsigned g = grid_for(n, threads), cap = unsigned(c.sm_count > 0 ? c.sm_count * 8 : 1024);
  return g < cap ? g : cap;
}

}  // namespace

std::unique_ptr<Device> make_device(int index) {
  const int n = device_count();
  if (index < 0 || index >= n)
    fail(Code::no_device, "CUDA device ", index, " does not exist (", n, " usable device", n == 1 ? "" : "s",
         ")");
  return std::make_unique<CudaDevice>(index);
}

void add(const Ctx& c, float* y, const float* x, int64_t n) {
  if (n <= 0) return;
  add_kernel<<<capped_grid(c, n, 256), 256, 0, c.stream>>>(y, x, n);
  check_launch("residual add");
}

void add_bias(const Ctx& c, float* y, int64_t ldy, const float* bias, int64_t rows, int64_t n) {
  if (rows <= 0 || n <= 0) return;
  bias_kernel<<<capped_grid(c, rows * n, 256), 256, 0, c.stream>>>(y, ldy, bias, rows, n);
  check_launch("bias add");
}

void gather_state_rows(const Ctx& c, std::byte* const* streams, size_t off, float* out, int64_t L, int64_t B,
                       int64_t W) {
  if (L * B * W <= 0) return;
  gather_state_rows_kernel<<<capped_grid(c, L * B * W, 256), 256, 0, c.stream>>>(streams, off, out, L, B, W);
  check_launch("gathering state rows");
}

void upload_async(const Ctx& c, void* dst, const void* host, size_t bytes) {
  if (bytes) check(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, c.stream), "copy to the device");
}

void download(const Ctx& c, void* host, const void* src, size_t bytes) {
  if (bytes) check(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, c.stream), "copy from the device");
  check(cudaStreamSynchronize(c.stream), "waiting for the device");
}

void download_async(const Ctx& c, void* host, const void* src, size_t bytes) {
  if (bytes) check(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, c.stream), "copy from the device");
}

static_assert(kSelectMax == kTopkMax);

size_t select_topk_scratch_bytes(int64_t rows, int64_t n, int k) { return row_topk_scratch_bytes(rows, n, k); }

void select_topk(const Ctx& c, const float* x, int64_t rows, int64_t n, int k, float* vals, int32_t* ids,
                 void* scratch) {
  try {
    row_topk(c.stream, x, rows, n, n, k, vals, ids, scratch);
  } catch (const std::runtime_error& e) {
    fail(Code::internal, "top-k selection: ", e.what());
  }
}

void make_current(const Ctx& c) { use(c.device); }

void finish_load(const Ctx& c) {
  use(c.device);
  // Weight uploads went through the legacy default stream; order them before
  // any kernel on the runtime's non-blocking stream.
  check(cudaDeviceSynchronize(), "waiting for the weight uploads");
}

std::unique_lock<std::mutex> submit_lock(const Ctx& c) {
  std::unique_lock<std::mutex> lock(*c.submit);
  use(c.device);  // the calling thread's current device
  return lock;
}

bool pdl_enabled() noexcept {
  static const bool on = [] {
    const char* e = std::getenv("SEQC_CUDA_PDL");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

bool persistent_enabled() noexcept {
  static const bool on = [] {
    const char* e = std::getenv("SEQC_CUDA_PERSISTENT");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

bool graphs_enabled() noexcept {
  static const bool on = [] {
    const char* e = std::getenv("SEQC_CUDA_GRAPHS");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

// ------------------------------------------------------------ step graphs

struct StepGraph {
  uint64_t key = 0;
  size_t mark = 0;
  size_t in_bytes = 0, ptr_bytes = 0;
  void* pin_in = nullptr;    // pinned host staging, read by the graph's copies
  void* pin_ptrs = nullptr;
  cudaGraphExec_t exec = nullptr;
  cudaEvent_t done = nullptr;  // recorded after each launch
  bool failed = false;         // capture impossible: run eagerly
};

struct StepGraphs {
  static constexpr size_t kMax = 64;
  std::vector<StepGraph> g;
  static void destroy(StepGraph& e) noexcept {
    if (e.done) cudaEventSynchronize(e.done);
    if (e.exec) cudaGraphExecDestroy(e.exec);
    if (e.done) cudaEventDestroy(e.done);
    if (e.pin_in) cudaFreeHost(e.pin_in);
    if (e.pin_ptrs) cudaFreeHost(e.pin_ptrs);
    e = StepGraph{};
  }
  ~StepGraphs() {
    for (auto& e : g) destroy(e);
  }
};

void StepGraphsDeleter::operator()(StepGraphs* g) const noexcept { delete g; }

bool run_graph(const Ctx& c, StepGraphCache& cache, uint64_t key, size_t mark, const void* in, void* din,
               size_t in_bytes, const void* ptrs, void* dptrs, size_t ptr_bytes, void (*body)(void*), void* arg) {
  if (!graphs_enabled()) return false;
  if (!cache) cache.reset(new StepGraphs);
  StepGraph* e = nullptr;
  for (auto& x : cache->g)
    if (x.key == key && x.mark == mark && x.in_bytes == in_bytes && x.ptr_bytes == ptr_bytes) e = &x;
  if (e && e->failed) return false;
  if (!e) {
    if (cache->g.size() >= StepGraphs::kMax) {
      for (auto& x : cache->g) StepGraphs::destroy(x);
      cache->g.clear();
    }
    cache->g.reserve(StepGraphs::kMax);  // entries never move while in use
    StepGraph& n = cache->g.emplace_back();
    n.key = key;
    n.mark = mark;
    n.in_bytes = in_bytes;
    n.ptr_bytes = ptr_bytes;
    auto give_up = [&](cudaError_t err) {
      (void)err;
      (void)cudaGetLastError();
      n.failed = true;
      return false;
    };
    if (cudaMallocHost(&n.pin_in, in_bytes ? in_bytes : 1) != cudaSuccess ||
        cudaMallocHost(&n.pin_ptrs, ptr_bytes ? ptr_bytes : 1) != cudaSuccess ||
        cudaEventCreateWithFlags(&n.done, cudaEventDisableTiming) != cudaSuccess)
      return give_up(cudaErrorMemoryAllocation);
    std::memcpy(n.pin_in, in, in_bytes);
    std::memcpy(n.pin_ptrs, ptrs, ptr_bytes);
    cudaError_t err = cudaStreamBeginCapture(c.stream, cudaStreamCaptureModeThreadLocal);
    if (err != cudaSuccess) return give_up(err);
    cudaMemcpyAsync(din, n.pin_in, in_bytes, cudaMemcpyHostToDevice, c.stream);
    cudaMemcpyAsync(dptrs, n.pin_ptrs, ptr_bytes, cudaMemcpyHostToDevice, c.stream);
    try {
      body(arg);
    } catch (...) {
      cudaGraph_t g = nullptr;
      const cudaError_t end = cudaStreamEndCapture(c.stream, &g);
      if (g) cudaGraphDestroy(g);
      (void)cudaGetLastError();
      // Nothing ran during the capture. If the capture itself broke (a call
      // that cannot be captured), run this shape eagerly from now on;
      // otherwise the body's error is real.
      if (end != cudaSuccess) return give_up(end);
      StepGraphs::destroy(n);
      cache->g.pop_back();
      throw;
    }
    cudaGraph_t g = nullptr;
    err = cudaStreamEndCapture(c.stream, &g);
    if (err != cudaSuccess || !g) {
      if (g) cudaGraphDestroy(g);
      return give_up(err);
    }
    err = cudaGraphInstantiate(&n.exec, g, 0);
    cudaGraphDestroy(g);
    if (err != cudaSuccess) {
      n.exec = nullptr;
      return give_up(err);
    }
    e = &n;
  } else {
    // The previous replay may still read the staging buffers.
    check(cudaEventSynchronize(e->done), "waiting for the previous step");
    std::memcpy(e->pin_in, in, in_bytes);
    std::memcpy(e->pin_ptrs, ptrs, ptr_bytes);
  }
  check(cudaGraphLaunch(e->exec, c.stream), "launching the step graph");
  check(cudaEventRecord(e->done, c.stream), "recording the step event");
  return true;
}

// ------------------------------------------------------------ DeviceArray

DeviceArray::DeviceArray(size_t n_floats) : n_(n_floats) {
  if (n_floats == 0) return;
  check(cudaMalloc(&p_, n_floats * sizeof(float)), "cudaMalloc (weights)");
  const cudaError_t e = cudaMemset(p_, 0, n_floats * sizeof(float));
  if (e != cudaSuccess) {
    cudaFree(p_);
    p_ = nullptr;
    fail_cuda(e, "cudaMemset (weights)");
  }
}

DeviceArray DeviceArray::upload(const float* host, size_t n_floats) {
  DeviceArray a(n_floats);
  if (n_floats) check(cudaMemcpy(a.p_, host, n_floats * sizeof(float), cudaMemcpyHostToDevice), "uploading weights");
  return a;
}

DeviceArray& DeviceArray::operator=(DeviceArray&& o) noexcept {
  if (this != &o) {
    if (p_) cudaFree(p_);
    p_ = o.p_;
    n_ = o.n_;
    o.p_ = nullptr;
    o.n_ = 0;
  }
  return *this;
}

DeviceArray::~DeviceArray() {
  if (p_) cudaFree(p_);
}

// ------------------------------------------------------------ GEMM

void gemm_nt(const Ctx& c, int64_t M, int64_t N, int64_t K, const float* x, int64_t ldx, const float* W,
             int64_t ldw, float* y, int64_t ldy, float beta) {
  if (M <= 0 || N <= 0) return;
  SEQC_CHECK(K > 0);  // Matrix::apply runs empty products and small M as its GEMV
  // Row-major y[M,N] = x[M,K] W[N,K]^T is column-major y^T[N,M] = W^T... :
  // cuBLAS sees W as column-major [K, N] (ld ldw), transposed -> [N, K];
  // x as column-major [K, M] (ld ldx); y as column-major [N, M] (ld ldy).
  const float alpha = 1.0f;
  check(blas().sgemm(c.blas, CUBLAS_OP_T, CUBLAS_OP_N, int(N), int(M), int(K), &alpha, W, int(ldw), x, int(ldx),
                    &beta, y, int(ldy)),
        "cublasSgemm");
}

void gemm_nt_half(const Ctx& c, DType dt, int64_t M, int64_t N, int64_t K, const void* xh, int64_t ldx,
                  const void* W, int64_t ldw, float* y, int64_t ldy, float beta) {
  if (M <= 0 || N <= 0) return;
  SEQC_CHECK(K > 0 && (dt == DType::bf16 || dt == DType::f16));
  const cudaDataType t = dt == DType::bf16 ? CUDA_R_16BF : CUDA_R_16F;
  const float alpha = 1.0f;
  // The handle keeps pedantic math for the FP32 products; pedantic mode may
  // keep half inputs off the tensor cores, so this product uses the default.
  check(blas().set_math_mode(c.blas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  const cublasStatus_t st = blas().gemm_ex(c.blas, CUBLAS_OP_T, CUBLAS_OP_N, int(N), int(M), int(K), &alpha, W, t, int(ldw), xh, t,
                       int(ldx), &beta, y, CUDA_R_32F, int(ldy), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  check(blas().set_math_mode(c.blas, CUBLAS_PEDANTIC_MATH), "cublasSetMathMode");
  check(st, "cublasGemmEx");
}

}  // namespace seqc::cuda
