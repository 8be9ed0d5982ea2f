// Device discovery for the CUDA backend slot. Uses the runtime API only (no
// driver API: CI machines have the toolkit but no libcuda.so.1).
#include <cuda_runtime.h>

#include "core/runtime.hpp"

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

}  // namespace seqc::cuda
