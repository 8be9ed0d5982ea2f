// The CUDA entry points when the library is built without the CUDA backend.
#include "core/runtime.hpp"
#include "core/status.hpp"
#include "cuda/cuda_api.hpp"

#if !SEQC_HAVE_CUDA
namespace seqc::cuda {
int device_count() noexcept { return 0; }
bool built() noexcept { return false; }
std::unique_ptr<Device> make_device(int) {
  fail(Code::unsupported, "this libseqcore was built without the CUDA backend");
}
void add(const Ctx&, float*, const float*, int64_t) { fail(Code::unsupported, "no CUDA backend"); }
void upload_async(const Ctx&, void*, const void*, size_t) { fail(Code::unsupported, "no CUDA backend"); }
void download(const Ctx&, void*, const void*, size_t) { fail(Code::unsupported, "no CUDA backend"); }
void download_async(const Ctx&, void*, const void*, size_t) { fail(Code::unsupported, "no CUDA backend"); }
size_t select_topk_scratch_bytes(int64_t, int64_t, int) { return 0; }
void select_topk(const Ctx&, const float*, int64_t, int64_t, int, float*, int32_t*, void*) {
  fail(Code::unsupported, "no CUDA backend");
}
std::unique_lock<std::mutex> submit_lock(const Ctx&) { return {}; }
void make_current(const Ctx&) {}
void finish_load(const Ctx&) {}
bool graphs_enabled() noexcept { return false; }
void StepGraphsDeleter::operator()(StepGraphs*) const noexcept {}
bool run_graph(const Ctx&, StepGraphCache&, uint64_t, size_t, const void*, void*, size_t, const void*, void*, size_t,
               void (*)(void*), void*) {
  return false;
}
}  // namespace seqc::cuda
#endif
