#include "core/device.hpp"

#include <cstdlib>
#include <cstring>

#include "core/status.hpp"
#include "core/workspace.hpp"
#include "cpu/cpu_features.hpp"

namespace seqc {

namespace {

class CpuDevice final : public Device {
 public:
  DeviceKind kind() const override { return DeviceKind::cpu; }
  int index() const override { return 0; }
  std::string name() const override {
    return std::string("cpu (") + cpu::isa_name(cpu::active_isa()) + " kernels)";
  }
  void* allocate(size_t bytes) override {
    void* p = std::aligned_alloc(kAlign, align_up(bytes ? bytes : 1));
    if (!p) fail(Code::out_of_memory, "cannot allocate ", bytes, " bytes");
    std::memset(p, 0, align_up(bytes ? bytes : 1));
    return p;
  }
  void deallocate(void* p) noexcept override { std::free(p); }
  void copy_from_host(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy_to_host(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy_within(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void fill_zero(void* dst, size_t bytes) override { std::memset(dst, 0, bytes); }
};

}  // namespace

std::unique_ptr<Device> make_cpu_device() { return std::make_unique<CpuDevice>(); }

}  // namespace seqc
