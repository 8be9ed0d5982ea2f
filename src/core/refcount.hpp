// Intrusive atomic reference counting for the shared objects (runtime,
// model) and a small smart pointer over it.
#pragma once

#include <atomic>
#include <utility>

namespace seqc {

class RefCounted {
 public:
  void ref() const noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void unref() const noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 protected:
  RefCounted() = default;
  virtual ~RefCounted() = default;

 private:
  mutable std::atomic<long> refs_{1};
};

// Owns one reference.
template <class T>
class Ref {
 public:
  Ref() = default;
  static Ref adopt(T* p) { Ref r; r.p_ = p; return r; }  // takes over an existing reference
  static Ref share(T* p) { if (p) p->ref(); return adopt(p); }
  Ref(const Ref& o) : p_(o.p_) { if (p_) p_->ref(); }
  Ref(Ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Ref& operator=(Ref o) noexcept { std::swap(p_, o.p_); return *this; }
  ~Ref() { if (p_) p_->unref(); }
  T* get() const { return p_; }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }
  T* release() { return std::exchange(p_, nullptr); }  // hands the reference to the caller

 private:
  T* p_ = nullptr;
};

}  // namespace seqc
