// cpu/gemm: every ISA bitwise equal to the literal contract, for any tiling
// and thread split; accuracy against a double-precision GEMM.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu/gemm.hpp"
#include "cpu/thread_pool.hpp"

using namespace seqc;
using namespace seqc::cpu;

namespace {

std::vector<Isa> available_isas() {
  std::vector<Isa> v;
  for (int i = 0; i <= static_cast<int>(detected_isa()); ++i) v.push_back(static_cast<Isa>(i));
  return v;
}

std::vector<float> random_floats(size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// A product with padded strides (lda > K, ldc > N) so that reads and writes
// outside the logical matrices would be noticed.
struct Problem {
  int64_t M, K, N, lda, ldc;
  std::vector<float> W;       // [N, K]
  std::vector<float> A;       // [M, lda]
  std::vector<float> packed;  // packed W^T
  std::vector<float> bias;    // [N]
  std::vector<float> C0;      // [M, ldc]: initial C (accumulate input and sentinels)

  Problem(int64_t m, int64_t k, int64_t n, std::mt19937& rng) : M(m), K(k), N(n), lda(k + 3), ldc(n + 5) {
    W = random_floats(size_t(N * K), rng);
    A = random_floats(size_t(M * lda), rng);
    bias = random_floats(size_t(N), rng);
    C0 = random_floats(size_t(M * ldc), rng, -4.0f, 4.0f);
    packed.assign(packed_floats(K, N), -1.0f);
    pack_weight_nk(W.data(), N, K, nullptr, packed.data());
  }
  GemmArgs args(float* C, Init init) const {
    return GemmArgs{M, K, N, A.data(), lda, packed.data(), C, ldc, init, bias.data()};
  }
  // The contract of gemm.hpp, written independently of the library.
  std::vector<float> contract(Init init) const {
    std::vector<float> C = C0;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        float acc = init == Init::zero ? 0.0f : init == Init::bias ? bias[size_t(n)] : C0[size_t(m * ldc + n)];
        for (int64_t k = 0; k < K; ++k) acc = std::fma(A[size_t(m * lda + k)], W[size_t(n * K + k)], acc);
        C[size_t(m * ldc + n)] = acc;
      }
    return C;
  }
};

// Index of the first float whose bits differ, or -1.
int64_t first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (bits(a[i]) != bits(b[i])) return int64_t(i);
  return -1;
}

const Init kInits[] = {Init::zero, Init::bias, Init::accumulate};

// Runs one ISA's whole tile on a copy of C0 and compares with `want`.
void check_isa(const Problem& p, Isa isa, Init init, const std::vector<float>& want) {
  std::vector<float> C = p.C0;
  detail::kernels(isa).tile(p.args(C.data(), init), 0, p.M, 0, p.N);
  const int64_t d = first_difference(C, want);
  INFO("isa " << std::string(isa_name(isa)) << " M " << p.M << " K " << p.K << " N " << p.N << " init " << int(init));
  if (d >= 0) INFO("first difference at m " << d / p.ldc << " n " << d % p.ldc);
  CHECK(d == -1);
}

}  // namespace

TEST_CASE("cpu/gemm/packed_layout") {
  std::mt19937 rng(1);
  const int64_t K = 7, N = 70;
  const auto W = random_floats(size_t(N * K), rng);
  std::vector<int64_t> perm(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) perm[size_t(n)] = (n * 17) % N;
  std::vector<float> nk(packed_floats(K, N), 5.0f), nkp(packed_floats(K, N), 5.0f), kn(packed_floats(K, N), 5.0f);
  REQUIRE(nk.size() == size_t(2 * K * kPanel));
  std::vector<float> B(size_t(K * N));  // B = W^T, row-major [K, N]
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) B[size_t(k * N + n)] = W[size_t(n * K + k)];
  pack_weight_nk(W.data(), N, K, nullptr, nk.data());
  pack_weight_nk(W.data(), N, K, perm.data(), nkp.data());
  pack_weight_kn(B.data(), K, N, kn.data());
  for (int64_t n = 0; n < 2 * kPanel; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const size_t at = size_t((n / kPanel) * K * kPanel + k * kPanel + n % kPanel);
      const float want = n < N ? W[size_t(n * K + k)] : 0.0f;
      const float want_perm = n < N ? W[size_t(perm[size_t(n)] * K + k)] : 0.0f;
      CHECK(bits(nk[at]) == bits(want));
      CHECK(bits(kn[at]) == bits(want));
      CHECK(bits(nkp[at]) == bits(want_perm));
    }
  CHECK(packed_floats(0, 5) == 0);
  CHECK(packed_floats(3, 0) == 0);
  CHECK(packed_floats(3, 64) == 3 * 64);
  CHECK(packed_floats(3, 65) == 3 * 128);
}

TEST_CASE("cpu/gemm/bitwise_across_isas") {
  std::mt19937 rng(2);
  const int64_t Ks[] = {0, 1, 3, 64, 100, 1000};
  const int64_t Ns[] = {1, 5, 63, 64, 65, 200, 1030};
  int rotate = 0;
  SUBCASE("small and typical M, every K and N") {
    for (int64_t M : {1, 2, 3, 4, 5, 6, 7, 8, 13, 31, 64, 70})
      for (int64_t K : Ks)
        for (int64_t N : Ns) {
          const Problem p(M, K, N, rng);
          const Init init = kInits[rotate++ % 3];
          const auto want = p.contract(init);
          for (Isa isa : available_isas()) check_isa(p, isa, init, want);
        }
  }
  SUBCASE("every M up to 70, every init") {
    for (int64_t M = 1; M <= 70; ++M)
      for (int64_t K : {3, 100})
        for (int64_t N : {65, 200}) {
          const Problem p(M, K, N, rng);
          for (Init init : kInits) {
            const auto want = p.contract(init);
            for (Isa isa : available_isas()) check_isa(p, isa, init, want);
          }
        }
  }
  SUBCASE("tall M") {
    for (int64_t K : {1, 100, 1000})
      for (int64_t N : {5, 65, 1030}) {
        const Problem p(257, K, N, rng);
        const Init init = kInits[rotate++ % 3];
        const auto want = p.contract(init);
        for (Isa isa : available_isas()) check_isa(p, isa, init, want);
      }
  }
}

TEST_CASE("cpu/gemm/tiles_touch_only_their_range") {
  std::mt19937 rng(3);
  for (int rep = 0; rep < 60; ++rep) {
    const int64_t M = 1 + rng() % 40, K = rng() % 300, N = 1 + rng() % 400;
    const Problem p(M, K, N, rng);
    const Init init = kInits[rep % 3];
    const auto full = p.contract(init);
    const int64_t panels = (N + kPanel - 1) / kPanel;
    const int64_t m0 = rng() % M, m1 = m0 + 1 + rng() % (M - m0);
    const int64_t n0 = (rng() % panels) * kPanel;
    const int64_t n1 = n0 + 1 + rng() % (N - n0);
    for (Isa isa : available_isas()) {
      std::vector<float> C = p.C0;
      detail::kernels(isa).tile(p.args(C.data(), init), m0, m1, n0, n1);
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < p.ldc; ++n) {
          const size_t i = size_t(m * p.ldc + n);
          const bool inside = m >= m0 && m < m1 && n >= n0 && n < n1;
          if (bits(C[i]) != bits(inside ? full[i] : p.C0[i])) {
            INFO("isa " << std::string(isa_name(isa)) << " M " << M << " K " << K << " N " << N << " tile [" << m0 << ","
                        << m1 << ")x[" << n0 << "," << n1 << ") at " << m << "," << n);
            FAIL_CHECK("wrong value");
            m = M;
            break;
          }
        }
    }
  }
}

TEST_CASE("cpu/gemm/thread_splits") {
  std::mt19937 rng(4);
  ThreadPool pools[] = {ThreadPool(1), ThreadPool(2), ThreadPool(3), ThreadPool(5)};
  struct Shape {
    int64_t M, K, N;
  };
  for (const Shape s : {Shape{1, 256, 1024}, Shape{1, 37, 4100}, Shape{3, 500, 300}, Shape{8, 256, 1030},
                        Shape{70, 64, 200}, Shape{257, 100, 700}, Shape{500, 33, 129}}) {
    const Problem p(s.M, s.K, s.N, rng);
    for (Init init : kInits) {
      const auto want = p.contract(init);
      std::vector<float> C = p.C0;
      gemm(nullptr, p.args(C.data(), init));
      CHECK(first_difference(C, want) == -1);
      for (ThreadPool& pool : pools) {
        C = p.C0;
        gemm(&pool, p.args(C.data(), init));
        INFO("threads " << pool.size() << " M " << s.M << " K " << s.K << " N " << s.N);
        CHECK(first_difference(C, want) == -1);
      }
      // Cut by hand into random row ranges and panel groups over a pool.
      for (int rep = 0; rep < 3; ++rep) {
        C = p.C0;
        const int64_t panels = (s.N + kPanel - 1) / kPanel;
        const int64_t rows = 1 + rng() % s.M, group = 1 + rng() % panels;
        const int64_t row_blocks = (s.M + rows - 1) / rows, groups = (panels + group - 1) / group;
        const GemmArgs g = p.args(C.data(), init);
        pools[3].parallel_for(row_blocks * groups, [&](int64_t t, int) {
          const int64_t m0 = (t % row_blocks) * rows, n0 = (t / row_blocks) * group * kPanel;
          gemm_tile(g, m0, std::min(s.M, m0 + rows), n0, std::min(s.N, n0 + group * kPanel));
        });
        CHECK(first_difference(C, want) == -1);
      }
    }
  }
}

TEST_CASE("cpu/gemm/unaligned_pointers_and_null_bias") {
  std::mt19937 rng(5);
  const int64_t M = 9, K = 33, N = 77;
  const Problem p(M, K, N, rng);
  // A and C shifted by one float: no kernel may assume alignment of them.
  std::vector<float> A1(p.A.size() + 1), C1(p.C0.size() + 1);
  std::memcpy(A1.data() + 1, p.A.data(), p.A.size() * 4);
  const auto want_zero = p.contract(Init::zero);
  for (Isa isa : available_isas()) {
    std::memcpy(C1.data() + 1, p.C0.data(), p.C0.size() * 4);
    GemmArgs g = p.args(C1.data() + 1, Init::bias);
    g.A = A1.data() + 1;
    g.bias = nullptr;  // Init::bias without a bias starts at +0
    detail::kernels(isa).tile(g, 0, M, 0, N);
    CHECK(std::memcmp(C1.data() + 1, want_zero.data(), want_zero.size() * 4) == 0);
  }
}

TEST_CASE("cpu/gemm/signed_zero_and_empty") {
  // +0 start: a chain of products that are all -0 ends at +0, on every ISA.
  const int64_t K = 5, N = 3;
  std::vector<float> W(size_t(N * K), -0.0f), A(size_t(K), 1.0f), packed(packed_floats(K, N));
  pack_weight_nk(W.data(), N, K, nullptr, packed.data());
  for (Isa isa : available_isas()) {
    float C[N] = {7, 7, 7};
    detail::kernels(isa).tile(GemmArgs{1, K, N, A.data(), K, packed.data(), C, N, Init::zero, nullptr}, 0, 1, 0, N);
    for (float c : C) CHECK(bits(c) == bits(0.0f));
    // Empty ranges write nothing.
    float D[N] = {7, 7, 7};
    detail::kernels(isa).tile(GemmArgs{1, K, N, A.data(), K, packed.data(), D, N, Init::zero, nullptr}, 0, 0, 0, N);
    detail::kernels(isa).tile(GemmArgs{1, K, N, A.data(), K, packed.data(), D, N, Init::zero, nullptr}, 0, 1, 0, 0);
    for (float d : D) CHECK(d == 7.0f);
  }
}

TEST_CASE("cpu/gemm/accuracy_vs_double") {
  std::mt19937 rng(6);
  for (int64_t K : {1, 64, 1000, 4096}) {
    const int64_t M = 4, N = 130;
    const Problem p(M, K, N, rng);
    std::vector<float> C = p.C0;
    gemm(nullptr, p.args(C.data(), Init::bias));
    double worst = 0;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double ref = p.bias[size_t(n)], mag = std::fabs(ref);
        for (int64_t k = 0; k < K; ++k) {
          const double t = double(p.A[size_t(m * p.lda + k)]) * double(p.W[size_t(n * K + k)]);
          ref += t;
          mag += std::fabs(t);
        }
        const double err = std::fabs(double(C[size_t(m * p.ldc + n)]) - ref);
        // Each fma rounds once: |error| <= K * 2^-24 * sum |terms| (first order).
        CHECK(err <= double(K + 1) * std::ldexp(1.0, -24) * mag);
        worst = std::max(worst, err / mag);
      }
    MESSAGE("K " << K << ": worst error / sum|terms| = " << worst);
  }
}
