#include "core/runtime.hpp"

#include <mutex>

#include "core/status.hpp"
#include "seqcore/seqcore.h"
#include "cpu/thread_pool.hpp"
#include "cuda/cuda_api.hpp"

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
      // Host threads only run the glue between launches: one is enough.
      return Ref<Runtime>::adopt(new Runtime(cuda::make_device(device_index), n_threads > 0 ? n_threads : 1));
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
