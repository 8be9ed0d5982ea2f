// Where a runtime's memory lives and how bytes get there. The CPU device is
// host memory; the CUDA device (src/cuda/, the CUDA backend release) will
// implement the same interface over cudaMalloc and the runtime's stream.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace seqc {

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
  virtual void copy_from_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t bytes) = 0;
};

std::unique_ptr<Device> make_cpu_device();

}  // namespace seqc
