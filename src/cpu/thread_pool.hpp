// A fixed pool of worker threads for the step path: parallel_for wakes the
// workers, shares tasks through an atomic counter and returns when all ran.
// Nothing here allocates after construction.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>

namespace seqc {

template <class Sig>
class FunctionRef;

// A non-owning, non-allocating reference to a callable (like llvm::function_ref).
// It must not outlive the callable it refers to; binding a temporary lambda in
// a call argument is fine, storing one is not. Plain function names are not
// accepted (wrap them in a lambda): converting a function pointer to void* is
// not portable C++.
template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
             !std::is_function_v<std::remove_reference_t<F>> &&
             std::is_invocable_r_v<R, F&, Args...>)
  FunctionRef(F&& f) noexcept  // NOLINT(google-explicit-constructor): used like a function parameter
      : obj_(const_cast<void*>(static_cast<const volatile void*>(std::addressof(f)))),
        call_([](void* obj, Args... args) -> R {
          return std::invoke(*static_cast<std::remove_reference_t<F>*>(obj), std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(obj_, std::forward<Args>(args)...); }

 private:
  void* obj_;
  R (*call_)(void*, Args...);
};

// Threads: parallel_for may be called from any thread, also concurrently and
// from inside a task; only one call at a time gets the workers, the others run
// their tasks inline on the calling thread (so nothing ever waits for the pool
// and nesting cannot deadlock). The destructor must not run while a
// parallel_for is in progress.
class ThreadPool {
 public:
  using Task = FunctionRef<void(int64_t task, int thread)>;

  // n_threads counts the calling thread: n_threads - 1 workers are started
  // (none for 1); n_threads <= 0 means std::thread::hardware_concurrency().
  // Workers spin for SEQC_SPIN_US microseconds (default 200, 0 = never) after
  // each region before they sleep, because waking a sleeping thread costs more
  // than a whole small model step. Throws std::system_error if a thread
  // cannot be started.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Total threads, the caller included.
  int size() const { return size_; }

  // Runs fn(task, thread) once for every task in [0, n_tasks) and returns when
  // all have finished. Tasks are handed out dynamically; `thread` is in
  // [0, size()) and no two tasks of this call run at the same time with the
  // same value (the caller is 0; tasks run inline all get 0). If tasks throw,
  // the remaining tasks still run and the first exception is rethrown here.
  void parallel_for(int64_t n_tasks, Task fn);

  // Splits [0, n) into one contiguous range per thread (fewer when n is
  // small) and runs fn(begin, end) for each. Each thread then touches the
  // same slice of the weights on every call, and there is one hand-out per
  // thread instead of one per item.
  void parallel_ranges(int64_t n, FunctionRef<void(int64_t begin, int64_t end)> fn) {
    const int64_t parts = std::min<int64_t>(n, size_);
    parallel_for(parts, [&](int64_t p, int) { fn(n * p / parts, n * (p + 1) / parts); });
  }

 private:
  void worker_main(int index);
  void stop_workers() noexcept;
  void run_tasks(int thread);
  static void run_inline(int64_t n_tasks, Task fn);
  void note_exception() noexcept;
  void wait_workers_left();

  int size_ = 1;
  int64_t spin_ns_ = 0;

  // One region at a time owns the workers; others run inline.
  std::atomic<bool> busy_{false};

  // The current region, written by its caller while no worker is inside
  // (open_ false and inside_ zero), read by workers only after they entered.
  const Task* fn_ = nullptr;
  int64_t n_tasks_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<bool> open_{false};
  std::atomic<int> inside_{0};          // workers inside the region
  std::atomic<bool> caller_sleeps_{false};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;            // first exception of the region

  std::atomic<uint32_t> generation_{0};  // bumped for each region; workers wait on it
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::unique_ptr<std::thread[]> threads_;
};

}  // namespace seqc
