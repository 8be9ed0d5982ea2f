// A bump arena over one preallocated buffer: the scratch memory of one call.
// The step path takes all its temporary memory from here, so it allocates
// nothing once a workspace exists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "core/device.hpp"
#include "core/status.hpp"
#include "cuda/cuda_api.hpp"

namespace seqc {

inline constexpr size_t kAlign = 64;
inline constexpr size_t align_up(size_t n, size_t a = kAlign) { return (n + a - 1) / a * a; }

// 64-byte aligned heap memory, zero-initialised.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes);
  AlignedBuffer(AlignedBuffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; o.n_ = 0; }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(p_); }
  std::byte* data() const { return p_; }
  size_t size() const { return n_; }
  template <class T> T* as() const { return reinterpret_cast<T*>(p_); }

 private:
  std::byte* p_ = nullptr;
  size_t n_ = 0;
};

inline AlignedBuffer::AlignedBuffer(size_t bytes) : n_(bytes) {
  if (bytes == 0) return;
  p_ = static_cast<std::byte*>(std::aligned_alloc(kAlign, align_up(bytes)));
  if (!p_) fail(Code::out_of_memory, "cannot allocate ", bytes, " bytes");
  std::fill(p_, p_ + align_up(bytes), std::byte{0});
}

inline AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& o) noexcept {
  if (this != &o) {
    std::free(p_);
    p_ = o.p_;
    n_ = o.n_;
    o.p_ = nullptr;
    o.n_ = 0;
  }
  return *this;
}

// A bump arena in host memory, or in a device's memory when created with one
// (the pointers it hands out are then device pointers).
class Workspace {
 public:
  explicit Workspace(size_t bytes) : host_(bytes), base_(host_.data()), size_(bytes) {}
  Workspace(size_t bytes, Device& dev) : dev_(dev, bytes), base_(dev_.data()), size_(bytes) {}
  template <class T>
  T* alloc(size_t n) {
    const size_t bytes = align_up(n * sizeof(T));
    if (bytes > size_ - used_)
      fail(Code::internal, "workspace exhausted: need ", bytes, " more bytes, ", size_ - used_, " left of ",
           size_);
    T* p = reinterpret_cast<T*>(base_ + used_);
    used_ += bytes;
    return p;
  }
  size_t mark() const { return used_; }
  void release(size_t mark) { used_ = mark; }
  size_t capacity() const { return size_; }

 private:
  AlignedBuffer host_;
  DeviceBuffer dev_;
  std::byte* base_ = nullptr;
  size_t size_ = 0;
  size_t used_ = 0;

 public:
  // CUDA graphs captured over this workspace's memory (CUDA models only).
  // Declared last: destroyed before the memory they point into.
  cuda::StepGraphCache graphs;
};

// Workspaces of one model, lent to one call at a time. A workspace is created
// only when more calls run at once than ever before; after that, taking and
// returning one is a lock and a pointer swap.
class WorkspacePool {
 public:
  explicit WorkspacePool(size_t bytes = 0) : bytes_(bytes) {}
  void set_size(size_t bytes) { bytes_ = bytes; }
  // Workspaces created from now on live in dev's memory (null: host).
  void set_device(Device* dev) { dev_ = dev; }
  size_t size() const { return bytes_; }

  class Lease {
   public:
    Lease(WorkspacePool& pool, std::unique_ptr<Workspace> ws) : pool_(pool), ws_(std::move(ws)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      ws_->release(0);
      pool_.give_back(std::move(ws_));
    }
    Workspace& operator*() { return *ws_; }
    Workspace* operator->() { return ws_.get(); }

   private:
    WorkspacePool& pool_;
    std::unique_ptr<Workspace> ws_;
  };

  Lease take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        auto ws = std::move(free_.back());
        free_.pop_back();
        return Lease(*this, std::move(ws));
      }
      // Room to take every workspace back without reallocating later.
      free_.reserve(++created_);
    }
    return Lease(*this, dev_ ? std::make_unique<Workspace>(bytes_, *dev_) : std::make_unique<Workspace>(bytes_));
  }

 private:
  void give_back(std::unique_ptr<Workspace> ws) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(ws));  // capacity reserved in take(): cannot throw
  }
  std::mutex mu_;
  std::vector<std::unique_ptr<Workspace>> free_;
  size_t bytes_;
  Device* dev_ = nullptr;
  size_t created_ = 0;
};

}  // namespace seqc
