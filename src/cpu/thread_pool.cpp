#include "cpu/thread_pool.hpp"

#include <chrono>
#include <cstdlib>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace seqc {

namespace {

void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t spin_ns_from_env() {
  constexpr int64_t kDefaultUs = 200;
  const char* s = std::getenv("SEQC_SPIN_US");
  if (!s || !*s) return kDefaultUs * 1000;
  char* end = nullptr;
  const long long us = std::strtoll(s, &end, 10);
  if (*end != '\0' || us < 0) return kDefaultUs * 1000;
  return static_cast<int64_t>(us) * 1000;
}

// Spins until done() or spin_ns have passed; true if done() became true. The
// clock is read only every 64 pauses, and the thread yields there so that an
// oversubscribed machine still runs whoever holds the work.
template <class Done>
bool spin_until(Done done, int64_t spin_ns) {
  if (spin_ns <= 0) return done();
  const int64_t t0 = now_ns();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (now_ns() - t0 >= spin_ns) return done();
    std::this_thread::yield();
  }
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) : spin_ns_(spin_ns_from_env()) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::thread::hardware_concurrency());
  if (n_threads <= 0) n_threads = 1;
  if (n_threads == 1) return;
  threads_ = std::make_unique<std::thread[]>(static_cast<size_t>(n_threads - 1));
  try {
    for (int i = 1; i < n_threads; ++i) {
      threads_[static_cast<size_t>(i - 1)] = std::thread(&ThreadPool::worker_main, this, i);
      size_ = i + 1;
    }
  } catch (...) {
    stop_workers();
    throw;
  }
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::stop_workers() noexcept {
  if (size_ == 1) return;
  stop_.store(true, std::memory_order_seq_cst);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  generation_.notify_all();
  for (int i = 1; i < size_; ++i) threads_[static_cast<size_t>(i - 1)].join();
  size_ = 1;
}

void ThreadPool::parallel_for(int64_t n_tasks, Task fn) {
  if (n_tasks <= 0) return;
  // A region already running (another caller, or the task we are inside of)
  // keeps the workers; waiting for it could deadlock, so run here instead.
  if (size_ == 1 || n_tasks == 1 || busy_.exchange(true, std::memory_order_acquire)) {
    run_inline(n_tasks, fn);
    return;
  }
  fn_ = &fn;
  n_tasks_ = n_tasks;
  next_.store(0, std::memory_order_relaxed);
  failed_.store(false, std::memory_order_relaxed);
  open_.store(true, std::memory_order_seq_cst);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) generation_.notify_all();

  run_tasks(0);

  open_.store(false, std::memory_order_seq_cst);
  wait_workers_left();
  std::exception_ptr error = std::move(error_);
  error_ = nullptr;
  fn_ = nullptr;
  busy_.store(false, std::memory_order_release);
  if (error) std::rethrow_exception(error);
}

void ThreadPool::run_inline(int64_t n_tasks, Task fn) {
  std::exception_ptr first;
  for (int64_t t = 0; t < n_tasks; ++t) {
    try {
      fn(t, 0);
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

void ThreadPool::run_tasks(int thread) {
  for (;;) {
    const int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
    if (t >= n_tasks_) return;
    try {
      (*fn_)(t, thread);
    } catch (...) {
      note_exception();
    }
  }
}

void ThreadPool::note_exception() noexcept {
  if (!failed_.exchange(true, std::memory_order_acq_rel)) error_ = std::current_exception();
}

// A worker that saw the region open may still be inside it; the region's
// state (fn_, next_, error_) must not change until every worker has left.
void ThreadPool::wait_workers_left() {
  auto none_inside = [this] { return inside_.load(std::memory_order_acquire) == 0; };
  if (spin_until(none_inside, spin_ns_)) return;
  // Dekker-style handshake with the leaving worker: it decrements, then reads
  // caller_sleeps_; we set caller_sleeps_, then read inside_.
  caller_sleeps_.store(true, std::memory_order_seq_cst);
  for (int v; (v = inside_.load(std::memory_order_seq_cst)) != 0;) inside_.wait(v, std::memory_order_seq_cst);
  caller_sleeps_.store(false, std::memory_order_relaxed);
}

void ThreadPool::worker_main(int index) {
  uint32_t seen = 0;  // no region can start before the constructor returns
  for (;;) {
    auto changed = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(changed, spin_ns_)) {
      // Same handshake as above, with the caller bumping generation_ and then
      // reading sleepers_; atomic::wait itself rechecks the value.
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      generation_.wait(seen, std::memory_order_seq_cst);
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      continue;
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_acquire)) return;
    // Enter, then check the region is (still, or already) open: a caller that
    // closed it waits for inside_ to drop back, and a caller that opens the
    // next one has written its state before open_.
    inside_.fetch_add(1, std::memory_order_seq_cst);
    if (open_.load(std::memory_order_seq_cst)) run_tasks(index);
    if (inside_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        caller_sleeps_.load(std::memory_order_seq_cst))
      inside_.notify_all();
  }
}

}  // namespace seqc
