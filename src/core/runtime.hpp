// A runtime: one device and its execution resources (for the CPU, the thread
// pool). Shared by models; thread-safe.
#pragma once

#include <memory>

#include "core/device.hpp"
#include "core/refcount.hpp"

namespace seqc {

class ThreadPool;

class Runtime : public RefCounted {
 public:
  // device_index only matters for CUDA; n_threads <= 0: one per core.
  static Ref<Runtime> create(DeviceKind device, int device_index, int n_threads);
  // The process-wide CPU runtime used when callers pass no runtime.
  static Ref<Runtime> default_cpu();

  DeviceKind device() const { return device_->kind(); }
  const Device& device_impl() const { return *device_; }
  Device& device_mut() const { return *device_; }  // allocation and copies are thread-safe
  int threads() const;
  ThreadPool& pool() const { return *pool_; }

 private:
  Runtime(std::unique_ptr<Device> device, int n_threads);
  ~Runtime() override;
  std::unique_ptr<Device> device_;
  std::unique_ptr<ThreadPool> pool_;
};

namespace cuda {
// 0 when built without CUDA, without a driver, or without a GPU.
int device_count() noexcept;
bool built() noexcept;
}  // namespace cuda

}  // namespace seqc
