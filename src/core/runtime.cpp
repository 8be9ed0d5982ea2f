#include "core/runtime.hpp"

#include <mutex>

#include "core/status.hpp"
#include "seqcore/seqcore.h"
#include "cpu/thread_pool.hpp"

namespace seqc {

Runtime::Runtime(std::unique_ptr<Device> device, int n_threads)
    : device_(std::move(device)), pool_(std::make_unique<ThreadPool>(n_threads)) {}

Runtime::~Runtime() = default;

int Runtime::threads() const { return pool_->size(); }

Ref<Runtime> Runtime::create(DeviceKind device, int device_index, int n_threads) {
  switch (device) {
    case DeviceKind::cpu:
      if (device_index != 0)
        fail(Code::no_device, "CPU device index must be 0, got ", device_index);
      return Ref<Runtime>::adopt(new Runtime(make_cpu_device(), n_threads));
    case DeviceKind::cuda: {
      if (!cuda::built())
        fail(Code::unsupported, "this libseqcore was built without the CUDA backend");
      const int n = cuda::device_count();
      if (device_index < 0 || device_index >= n)
        fail(Code::no_device, "CUDA device ", device_index, " does not exist (", n,
             " usable device", n == 1 ? "" : "s", ")");
      // The device slot exists (device discovery above); kernels arrive with
      // the CUDA backend release.
      fail(Code::unsupported, "CUDA kernels are not available in libseqcore ",
           SEQC_VERSION_STRING, "; use a CPU runtime");
    }
  }
  fail(Code::invalid_argument, "unknown device kind ", int(device));
}

Ref<Runtime> Runtime::default_cpu() {
  static std::once_flag once;
  static Runtime* rt = nullptr;
  // Intentionally never freed: its threads must outlive static destructors.
  std::call_once(once, [] { rt = new Runtime(make_cpu_device(), 0); });
  return Ref<Runtime>::share(rt);
}

}  // namespace seqc
