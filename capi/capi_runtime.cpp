#include "capi_common.hpp"

using namespace seqc;
using seqc::capi::guarded;
using seqc::capi::require;

extern "C" {

int seqc_runtime_create_cpu(int32_t n_threads, seqc_runtime** out) {
  return seqc_runtime_create(SEQC_DEVICE_CPU, 0, n_threads, out);
}

int seqc_runtime_create(int32_t device, int32_t device_index, int32_t n_threads, seqc_runtime** out) {
  return guarded([&] {
    require(out, "out");
    if (device != SEQC_DEVICE_CPU && device != SEQC_DEVICE_CUDA)
      fail(Code::invalid_argument, "unknown device kind ", device);
    Ref<Runtime> rt = Runtime::create(DeviceKind(device), device_index, n_threads);
    *out = c_handle(rt.release());
  });
}

seqc_runtime* seqc_runtime_ref(seqc_runtime* rt) {
  if (rt) cpp(rt)->ref();
  return rt;
}

void seqc_runtime_unref(seqc_runtime* rt) {
  if (rt) cpp(rt)->unref();
}

int32_t seqc_runtime_threads(const seqc_runtime* rt) { return rt ? cpp(rt)->threads() : 0; }

int32_t seqc_runtime_device(const seqc_runtime* rt) { return rt ? int32_t(cpp(rt)->device()) : -1; }

int32_t seqc_has_cuda(void) { return cuda::built() ? 1 : 0; }

int32_t seqc_cuda_device_count(void) { return cuda::device_count(); }

}  // extern "C"
