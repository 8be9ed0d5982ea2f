// Where a runtime's memory lives and how bytes get there. The CPU device is
// host memory; the CUDA device (src/cuda/, the CUDA backend release) will
// implement the same interface over cudaMalloc and the runtime's stream.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace seqc {

namespace cuda {
struct Ctx;  // src/cuda/cuda_common.cuh
}

// Numeric values equal seqc_device_kind.
enum class DeviceKind : int { cpu = 0, cuda = 1 };

class Device {
 public:
  virtual ~Device() = default;
  virtual DeviceKind kind() const = 0;
  virtual int index() const = 0;
  virtual std::string name() const = 0;  // for describe(): "cpu (avx512 kernels)"
  // Device memory: 64-byte aligned, zero-filled on the CPU. Throws
  // Code::out_of_memory.
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p) noexcept = 0;
  // Synchronous copies and fills, ordered after all work the runtime queued
  // before them (on CUDA: on the runtime's stream, then waiting for it).
  virtual void copy_from_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_within(void* dst, const void* src, size_t bytes) = 0;
  virtual void fill_zero(void* dst, size_t bytes) = 0;
  // The CUDA context (stream, cuBLAS handle) of a CUDA device; null on the CPU.
  virtual const cuda::Ctx* cuda_ctx() const { return nullptr; }
};

std::unique_ptr<Device> make_cpu_device();

// Memory owned on a device (host memory for the CPU device). Move-only.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Device& dev, size_t bytes) : dev_(&dev), n_(bytes) {
    if (bytes) p_ = static_cast<std::byte*>(dev.allocate(bytes));
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept : dev_(o.dev_), p_(o.p_), n_(o.n_) {
    o.p_ = nullptr;
    o.n_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      if (p_) dev_->deallocate(p_);
      dev_ = o.dev_;
      p_ = o.p_;
      n_ = o.n_;
      o.p_ = nullptr;
      o.n_ = 0;
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (p_) dev_->deallocate(p_);
  }
  std::byte* data() const { return p_; }
  size_t size() const { return n_; }
  Device* device() const { return dev_; }

 private:
  Device* dev_ = nullptr;
  std::byte* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace seqc
