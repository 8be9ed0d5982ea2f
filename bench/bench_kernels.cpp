// bench_kernels: the CPU numeric core against OpenBLAS and the memory roofline.
//
//   GEMV (M = 1): weight-streaming GB/s and us per call, ours vs cblas_sgemv,
//     next to a plain read of a buffer as large as the weights (the roofline
//     for that working set: caches when it fits, DRAM when it does not).
//   GEMM: GFLOP/s for M = 8, 64, 1024, ours vs cblas_sgemm.
//   vmath: ns per element for vexp / vtanh / vsigmoid on each ISA.
// Each figure for 1 and 2 threads (OpenBLAS set to the same count).
// Timings: best of several batches of calls, each batch >= 2 ms.
//
// Usage: bench_kernels [threads...]   (default: 1 2)
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/workspace.hpp"
#include "cpu/cpu_features.hpp"
#include "cpu/gemm.hpp"
#include "cpu/thread_pool.hpp"
#include "cpu/vmath.hpp"

using namespace seqc;
using namespace seqc::cpu;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds per call of f: the best batch over at least `budget` seconds.
template <class F>
double time_call(F&& f, double budget = 0.25) {
  f();  // warm up (page faults, caches, thread wake-up)
  int reps = 1;
  for (;;) {
    const double t0 = now_s();
    for (int i = 0; i < reps; ++i) f();
    if (now_s() - t0 >= 2e-3) break;
    reps *= 2;
  }
  double best = 1e30;
  const double end = now_s() + budget;
  int batches = 0;
  while (batches < 5 || now_s() < end) {
    const double t0 = now_s();
    for (int i = 0; i < reps; ++i) f();
    best = std::min(best, (now_s() - t0) / reps);
    ++batches;
  }
  return best;
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Sum of 64-bit words with four independent chains, 32 bytes a load where
// AVX2 exists: a read that no compute bound holds back.
#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t read_words_avx2(const uint64_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 8)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 12)));
  }
  alignas(32) uint64_t l[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(l), _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
  uint64_t s = l[0] + l[1] + l[2] + l[3];
  for (; i < n; ++i) s += p[i];
  return s;
}
#endif

uint64_t read_words(const uint64_t* p, size_t n) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2")) return read_words_avx2(p, n);
#endif
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) s0 += p[i], s1 += p[i + 1], s2 += p[i + 2], s3 += p[i + 3];
  for (; i < n; ++i) s0 += p[i];
  return s0 + s1 + s2 + s3;
}

// GB/s of reading `bytes` (repeatedly, so caches help when it fits), split
// over the pool's threads.
double read_bandwidth(ThreadPool& pool, size_t bytes) {
  AlignedBuffer buf(bytes);
  std::memset(buf.data(), 1, bytes);
  const size_t words = bytes / 8;
  const int64_t parts = pool.size();
  volatile uint64_t sink = 0;
  const double t = time_call([&] {
    pool.parallel_for(parts, [&](int64_t part, int) {
      const size_t lo = words * size_t(part) / size_t(parts) / 4 * 4, hi = words * size_t(part + 1) / size_t(parts) / 4 * 4;
      sink = sink + read_words(buf.as<uint64_t>() + lo, hi - lo);
    });
  });
  return double(bytes) / t / 1e9;
}

struct Shape {
  int64_t K, N;
};

void bench_gemv(const std::vector<int>& thread_counts) {
  const Shape shapes[] = {{256, 1024}, {512, 1024}, {1024, 4096}, {2048, 8192}, {768, 50280}};
  std::printf("\nGEMV, M = 1 (y[N] = W[N,K] x): GB/s of weights streamed, us per call\n");
  std::printf("%-12s %3s | %9s %8s | %9s %8s | %9s | %6s %6s\n", "K x N", "thr", "ours GB/s", "us", "oblas GB/s",
              "us", "read GB/s", "ours/ob", "ours/rd");
  for (const Shape s : shapes) {
    const auto W = random_floats(size_t(s.K * s.N), 1), x = random_floats(size_t(s.K), 2);
    AlignedBuffer packed(packed_floats(s.K, s.N) * sizeof(float));
    pack_weight_nk(W.data(), s.N, s.K, nullptr, packed.as<float>());
    std::vector<float> y(size_t(s.N));
    const double bytes = double(s.K) * double(s.N) * 4;
    for (int t : thread_counts) {
      ThreadPool pool(t);
      openblas_set_num_threads(t);
      const GemmArgs g{1, s.K, s.N, x.data(), s.K, packed.as<float>(), y.data(), s.N, Init::zero, nullptr};
      const double ours = time_call([&] { gemm(&pool, g); });
      const double ob = time_call([&] {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, int(s.N), int(s.K), 1.0f, W.data(), int(s.K), x.data(), 1, 0.0f,
                    y.data(), 1);
      });
      const double rd = read_bandwidth(pool, size_t(bytes));
      std::printf("%5lldx%-6lld %3d | %9.1f %8.1f | %9.1f %8.1f | %9.1f | %6.2f %6.2f\n", (long long)s.K,
                  (long long)s.N, t, bytes / ours / 1e9, ours * 1e6, bytes / ob / 1e9, ob * 1e6, rd, ob / ours,
                  bytes / ours / 1e9 / rd);
    }
  }
}

void bench_gemm(const std::vector<int>& thread_counts) {
  const Shape shapes[] = {{256, 1024}, {1024, 4096}};
  std::printf("\nGEMM (C[M,N] = A[M,K] W^T): GFLOP/s\n");
  std::printf("%-12s %5s %3s | %9s | %9s | %7s\n", "K x N", "M", "thr", "ours", "openblas", "ours/ob");
  for (const Shape s : shapes) {
    const auto W = random_floats(size_t(s.K * s.N), 3);
    AlignedBuffer packed(packed_floats(s.K, s.N) * sizeof(float));
    pack_weight_nk(W.data(), s.N, s.K, nullptr, packed.as<float>());
    for (int64_t M : {8, 64, 1024}) {
      const auto A = random_floats(size_t(M * s.K), 4);
      std::vector<float> C(size_t(M * s.N));
      const double flops = 2.0 * double(M) * double(s.K) * double(s.N);
      for (int t : thread_counts) {
        ThreadPool pool(t);
        openblas_set_num_threads(t);
        const GemmArgs g{M, s.K, s.N, A.data(), s.K, packed.as<float>(), C.data(), s.N, Init::zero, nullptr};
        const double ours = time_call([&] { gemm(&pool, g); });
        const double ob = time_call([&] {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(s.N), int(s.K), 1.0f, A.data(), int(s.K),
                      W.data(), int(s.K), 0.0f, C.data(), int(s.N));
        });
        std::printf("%5lldx%-6lld %5lld %3d | %9.1f | %9.1f | %7.2f\n", (long long)s.K, (long long)s.N,
                    (long long)M, t, flops / ours / 1e9, flops / ob / 1e9, ob / ours);
      }
    }
  }
}

void bench_vmath() {
  constexpr int64_t n = 4096;  // in L1: the cost of the math, not of memory
  std::vector<float> x(n), y(n);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> d(-10.0f, 10.0f);
  for (auto& v : x) v = d(rng);
  std::printf("\nvmath, n = %lld in L1, one thread: ns per element\n", (long long)n);
  std::printf("%-8s | %8s %8s %8s %8s %8s\n", "isa", "exp", "tanh", "sigmoid", "silu", "gelu");
  for (int i = 0; i <= int(detected_isa()); ++i) {
    const auto& k = detail::vmath_kernels(Isa(i));
    auto ns = [&](void (*f)(const float*, float*, int64_t)) {
      return time_call([&] { f(x.data(), y.data(), n); }, 0.1) / double(n) * 1e9;
    };
    std::printf("%-8s | %8.3f %8.3f %8.3f %8.3f %8.3f\n", isa_name(Isa(i)), ns(k.exp), ns(k.tanh), ns(k.sigmoid),
                ns(k.silu), ns(k.gelu_tanh));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads;
  for (int i = 1; i < argc; ++i) threads.push_back(std::atoi(argv[i]));
  if (threads.empty()) threads = {1, 2};
  std::printf("bench_kernels: ISA %s (detected %s), %u hardware threads\n", isa_name(active_isa()),
              isa_name(detected_isa()), std::thread::hardware_concurrency());
  {
    ThreadPool pool(threads.back());
    std::printf("read bandwidth of a 256 MiB buffer, %d threads: %.1f GB/s\n", pool.size(),
                read_bandwidth(pool, size_t(256) << 20));
  }
  bench_gemv(threads);
  bench_gemm(threads);
  bench_vmath();
  return 0;
}
