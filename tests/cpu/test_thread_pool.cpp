// cpu/thread_pool: every task exactly once, concurrent and nested callers,
// exceptions, the single-thread pool, and FunctionRef.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <chrono>
#include <thread>
#include <vector>

#include "cpu/thread_pool.hpp"

using seqc::FunctionRef;
using seqc::ThreadPool;

namespace {

// Runs n tasks and checks each ran once, with thread indices in range and
// never shared by two tasks running at the same time.
void check_once(ThreadPool& pool, int64_t n) {
  std::vector<std::atomic<int>> runs(static_cast<size_t>(n));
  std::vector<std::atomic<int>> busy(static_cast<size_t>(pool.size()));
  std::atomic<int> bad_thread{0};
  pool.parallel_for(n, [&](int64_t t, int thread) {
    if (thread < 0 || thread >= pool.size()) {
      bad_thread++;
      return;
    }
    if (busy[size_t(thread)].exchange(1)) bad_thread++;
    runs[size_t(t)]++;
    busy[size_t(thread)].store(0);
  });
  CHECK(bad_thread.load() == 0);
  int64_t wrong = 0;
  for (auto& r : runs) wrong += r.load() != 1;
  CHECK(wrong == 0);
}

// Sets SEQC_SPIN_US for the pools constructed in one scope.
struct SpinEnv {
  explicit SpinEnv(const char* us) { setenv("SEQC_SPIN_US", us, 1); }
  ~SpinEnv() { unsetenv("SEQC_SPIN_US"); }
};

}  // namespace

TEST_CASE("cpu/thread_pool/function_ref") {
  int calls = 0;
  auto add = [&](int a, int b) {
    ++calls;
    return a + b;
  };
  FunctionRef<int(int, int)> f = add;
  CHECK(f(2, 3) == 5);
  const FunctionRef<int(int, int)> g = f;  // copies refer to the same callable
  CHECK(g(1, 1) == 2);
  CHECK(calls == 2);
  struct Functor {
    int k;
    int operator()(int x) const { return k * x; }
  };
  const Functor triple{3};
  FunctionRef<int(int)> h = triple;
  CHECK(h(4) == 12);
  static_assert(sizeof(FunctionRef<void()>) == 2 * sizeof(void*));
}

TEST_CASE("cpu/thread_pool/all_tasks_once") {
  for (int threads : {1, 2, 3, 4, 8}) {
    ThreadPool pool(threads);
    CHECK(pool.size() == threads);
    for (int64_t n : {0, 1, 2, 3, 7, 64, 1000, 100000}) check_once(pool, n);
    for (int rep = 0; rep < 2000; ++rep) check_once(pool, 1 + rep % 9);  // back-to-back regions
  }
  ThreadPool hw(0);
  CHECK(hw.size() == std::max(1, int(std::thread::hardware_concurrency())));
  check_once(hw, 100);
}

TEST_CASE("cpu/thread_pool/sleeping_workers") {
  // Without spinning every region wakes sleeping workers through atomic::wait.
  SpinEnv env("0");
  ThreadPool pool(3);
  for (int rep = 0; rep < 3000; ++rep) check_once(pool, 1 + rep % 17);
  // Long tasks make the caller itself sleep until the workers leave.
  std::atomic<int> done{0};
  pool.parallel_for(6, [&](int64_t, int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    done++;
  });
  CHECK(done.load() == 6);
}

TEST_CASE("cpu/thread_pool/single_thread_runs_inline") {
  ThreadPool pool(1);
  const auto me = std::this_thread::get_id();
  int64_t sum = 0;
  bool all_here = true;
  pool.parallel_for(100, [&](int64_t t, int thread) {
    all_here = all_here && std::this_thread::get_id() == me && thread == 0;
    sum += t;  // no synchronisation needed: everything runs on this thread
  });
  CHECK(all_here);
  CHECK(sum == 4950);
}

TEST_CASE("cpu/thread_pool/concurrent_callers") {
  for (const char* spin : {"200", "0"}) {
    SpinEnv env(spin);
    ThreadPool pool(3);
    std::atomic<int> failures{0};
    std::vector<std::thread> callers;
    for (int c = 0; c < 4; ++c)
      callers.emplace_back([&, c] {
        for (int rep = 0; rep < 300; ++rep) {
          const int64_t n = 1 + (rep * 7 + c) % 50;
          std::vector<std::atomic<int>> runs(static_cast<size_t>(n));
          pool.parallel_for(n, [&](int64_t t, int) { runs[size_t(t)]++; });
          for (auto& r : runs)
            if (r.load() != 1) failures++;
        }
      });
    for (auto& t : callers) t.join();
    CHECK(failures.load() == 0);
  }
}

TEST_CASE("cpu/thread_pool/nesting") {
  ThreadPool pool(4);
  constexpr int64_t kOuter = 16, kInner = 37;
  std::vector<std::atomic<int>> runs(kOuter * kInner);
  std::atomic<int> not_inline{0};
  pool.parallel_for(kOuter, [&](int64_t o, int) {
    pool.parallel_for(kInner, [&](int64_t i, int thread) {
      not_inline += thread != 0;  // nested calls run inline
      runs[size_t(o * kInner + i)]++;
    });
  });
  CHECK(not_inline.load() == 0);
  int64_t wrong = 0;
  for (auto& r : runs) wrong += r.load() != 1;
  CHECK(wrong == 0);
  check_once(pool, 500);  // the pool is intact afterwards
}

TEST_CASE("cpu/thread_pool/exceptions") {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 5, 100}) {
      std::vector<std::atomic<int>> runs(static_cast<size_t>(n));
      bool caught = false;
      try {
        pool.parallel_for(n, [&](int64_t t, int) {
          runs[size_t(t)]++;
          if (t % 3 == 0) throw std::runtime_error("task " + std::to_string(t));
        });
      } catch (const std::runtime_error& e) {
        caught = std::string(e.what()).rfind("task ", 0) == 0;
      }
      CHECK(caught);
      int64_t wrong = 0;
      for (auto& r : runs) wrong += r.load() != 1;  // the other tasks still ran
      CHECK(wrong == 0);
      check_once(pool, 64);  // and the pool works afterwards
    }
    // An exception thrown from a nested (inline) region reaches the outer task.
    std::atomic<int> inner_caught{0};
    pool.parallel_for(4, [&](int64_t, int) {
      try {
        pool.parallel_for(3, [](int64_t t, int) {
          if (t == 1) throw std::logic_error("inner");
        });
      } catch (const std::logic_error&) {
        inner_caught++;
      }
    });
    CHECK(inner_caught.load() == 4);
  }
}

TEST_CASE("cpu/thread_pool/construct_and_destroy") {
  for (int rep = 0; rep < 50; ++rep) {
    auto pool = std::make_unique<ThreadPool>(1 + rep % 5);
    if (rep % 2) check_once(*pool, 10);
  }
}
