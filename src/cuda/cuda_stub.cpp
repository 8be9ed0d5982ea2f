// Device discovery when the library is built without the CUDA backend.
#include "core/runtime.hpp"

#if !SEQC_HAVE_CUDA
namespace seqc::cuda {
int device_count() noexcept { return 0; }
bool built() noexcept { return false; }
}  // namespace seqc::cuda
#endif
