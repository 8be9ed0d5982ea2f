// Standalone check of seqc::cuda::row_topk (src/cuda/topk.cu) against a host
// reference, then timings. Needs a GPU:
//   nvcc -O2 -arch=sm_90 -std=c++20 -Isrc tests/cuda/topk_check.cu src/cuda/topk.cu -o topk_check
//   ./topk_check
// The reference is std::sort of a row's non-NaN entries by (value desc, id
// asc), padded with (id -1, -inf); the kernel's values must match bit for bit.
// The data has many ties (a few levels, +0 and -0), NaN, +-inf, all-NaN rows,
// rows with fewer than k non-NaN entries, ascending and periodic rows, padded rows (ld > n,
// the padding +inf so reading past n shows) and misaligned rows (the scalar
// load path).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <random>
#include <vector>

#include "cuda/topk.cuh"

namespace {

void ck(cudaError_t e, const char* what, int line) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "topk_check:%d: %s: %s\n", line, what, cudaGetErrorString(e));
    std::exit(2);
  }
}
#define CK(x) ck((x), #x, __LINE__)

constexpr int kModes = 9;

// Row r of a case: entries [0, n) by mode, padding [n, ld) = +inf.
void fill_row(float* row, int64_t n, int64_t ld, int mode, std::mt19937& g) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  const float nan = std::nanf("");
  for (int64_t i = 0; i < n; ++i) {
    const float x = u(g);
    float v = nan;
    if (mode == 0) {  // a few levels, +-0, NaN, +-inf
      v = x < 0.05f   ? nan
          : x < 0.06f ? INFINITY
          : x < 0.08f ? -INFINITY
          : x < 0.12f ? -0.0f
                      : float(int(u(g) * 6.0f)) * 0.5f - 1.0f;
    } else if (mode == 1) {  // all NaN
      v = nan;
    } else if (mode == 2) {  // continuous
      v = x < 0.01f ? nan : nd(g);
    } else if (mode == 3) {  // one value
      v = x < 0.2f ? nan : 1.25f;
    } else if (mode == 4) {  // almost all NaN: usually fewer than k valid
      v = x < 0.995f ? nan : x < 0.997f ? -INFINITY : nd(g);
    } else if (mode == 5) {  // ascending
      v = float(i) * 1e-3f;
    } else if (mode == 6) {  // infinities, NaN, a few finite
      v = x < 0.3f ? -INFINITY : x < 0.5f ? nan : x < 0.7f ? INFINITY : x < 0.9f ? 0.0f : nd(g);
    } else if (mode == 7) {  // only -inf and NaN
      v = x < 0.5f ? -INFINITY : nan;
    } else {  // periodic: the top values among few threads' entries (many candidates)
      v = x < 0.02f ? nan : float(i % 256);
    }
    row[i] = v;
  }
  for (int64_t i = n; i < ld; ++i) row[i] = INFINITY;
}

// Top kmax of each row, sorted by (value desc, id asc), padded with (-1, -inf).
void reference(const float* h, int64_t rows, int64_t n, int64_t ld, int kmax, std::vector<float>& vals,
               std::vector<int32_t>& ids) {
  vals.assign(size_t(rows * kmax), -INFINITY);
  ids.assign(size_t(rows * kmax), -1);
  std::vector<int32_t> idx;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = h + r * ld;
    idx.clear();
    for (int64_t i = 0; i < n; ++i)
      if (!std::isnan(row[i])) idx.push_back(int32_t(i));
    const auto by = [row](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); };
    const size_t m = std::min(idx.size(), size_t(kmax));
    std::partial_sort(idx.begin(), idx.begin() + m, idx.end(), by);
    for (size_t j = 0; j < m; ++j) {
      vals[size_t(r * kmax) + j] = row[idx[j]];
      ids[size_t(r * kmax) + j] = idx[j];
    }
  }
}

uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

struct Dev {
  void* p = nullptr;
  explicit Dev(size_t bytes) {
    if (bytes) CK(cudaMalloc(&p, bytes));
  }
  ~Dev() { cudaFree(p); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
};

int g_cases = 0, g_mismatches = 0;

// One (rows, n, ld, misaligned) data set, checked for every k.
void check_shape(int64_t rows, int64_t n, int64_t ld, int64_t off, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<float> h(size_t(rows * ld + off), INFINITY);
  for (int64_t r = 0; r < rows; ++r)
    fill_row(h.data() + off + r * ld, n, ld, int((r * 3 + seed) % kModes), g);
  std::vector<float> rv;
  std::vector<int32_t> ri;
  reference(h.data() + off, rows, n, ld, seqc::cuda::kTopkMax, rv, ri);

  Dev d(h.size() * sizeof(float));
  if (!h.empty()) CK(cudaMemcpy(d.p, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice));
  const float* logits = static_cast<const float*>(d.p) + off;
  for (const int k : {1, 2, 5, 40, 64}) {
    ++g_cases;
    Dev dv(size_t(rows * k) * sizeof(float)), di(size_t(rows * k) * sizeof(int32_t));
    Dev ds(seqc::cuda::row_topk_scratch_bytes(rows, n, k));
    CK(cudaMemset(dv.p, 0x7f, size_t(rows * k) * sizeof(float)));  // garbage: unwritten slots show
    CK(cudaMemset(di.p, 0x7f, size_t(rows * k) * sizeof(int32_t)));
    try {
      seqc::cuda::row_topk(nullptr, logits, rows, n, ld, k, static_cast<float*>(dv.p),
                           static_cast<int32_t*>(di.p), ds.p);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rows=%lld n=%lld ld=%lld k=%d: threw %s\n", (long long)rows, (long long)n,
                   (long long)ld, k, e.what());
      ++g_mismatches;
      continue;
    }
    CK(cudaDeviceSynchronize());
    std::vector<float> gv(size_t(rows * k));
    std::vector<int32_t> gi(size_t(rows * k));
    CK(cudaMemcpy(gv.data(), dv.p, gv.size() * sizeof(float), cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(gi.data(), di.p, gi.size() * sizeof(int32_t), cudaMemcpyDeviceToHost));
    bool bad = false;
    for (int64_t r = 0; r < rows && !bad; ++r) {
      for (int j = 0; j < k; ++j) {
        const size_t o = size_t(r * k + j), e = size_t(r * seqc::cuda::kTopkMax + j);
        if (gi[o] != ri[e] || bits(gv[o]) != bits(rv[e])) {
          std::fprintf(stderr,
                       "mismatch rows=%lld n=%lld ld=%lld off=%lld k=%d: row %lld slot %d: got (%d, %g) want "
                       "(%d, %g)\n",
                       (long long)rows, (long long)n, (long long)ld, (long long)off, k, (long long)r, j,
                       gi[o], double(gv[o]), ri[e], double(rv[e]));
          bad = true;
          break;
        }
      }
    }
    if (bad) ++g_mismatches;
  }
}

void time_k(int64_t rows, int64_t n, int k) {
  std::mt19937 g(1234);
  std::vector<float> h(size_t(rows * n));
  for (int64_t r = 0; r < rows; ++r) fill_row(h.data() + r * n, n, n, 2, g);
  Dev d(h.size() * sizeof(float)), dv(size_t(rows * k) * sizeof(float)),
      di(size_t(rows * k) * sizeof(int32_t));
  Dev ds(seqc::cuda::row_topk_scratch_bytes(rows, n, k));
  CK(cudaMemcpy(d.p, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice));
  cudaStream_t s;
  CK(cudaStreamCreate(&s));
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  const auto call = [&] {
    seqc::cuda::row_topk(s, static_cast<const float*>(d.p), rows, n, n, k, static_cast<float*>(dv.p),
                         static_cast<int32_t*>(di.p), ds.p);
  };
  for (int i = 0; i < 5; ++i) call();
  std::vector<float> ms;
  for (int i = 0; i < 50; ++i) {
    CK(cudaEventRecord(e0, s));
    call();
    CK(cudaEventRecord(e1, s));
    CK(cudaEventSynchronize(e1));
    float t = 0;
    CK(cudaEventElapsedTime(&t, e0, e1));
    ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("topk_check: rows=%lld n=%lld k=%d: median %.1f us (min %.1f us)\n", (long long)rows,
              (long long)n, k, double(ms[ms.size() / 2]) * 1e3, double(ms[0]) * 1e3);
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  CK(cudaStreamDestroy(s));
}

}  // namespace

int main() {
  uint32_t seed = 1;
  for (const int64_t rows : {1, 7, 256}) {
    for (const int64_t n : {1, 3, 100, 4096, 4097, 50280}) {
      check_shape(rows, n, n, 0, seed++);                      // float4 loads when n % 4 == 0
      check_shape(rows, n, n + 5, 0, seed++);                  // scalar loads, padded rows
      check_shape(rows, n, n, 1, seed++);                      // misaligned: scalar loads
      if (n % 4 == 0) check_shape(rows, n, n + 4, 0, seed++);  // float4 loads, padded rows
    }
  }
  // Several merge rounds (81 and 269 segments), and n = 0.
  check_shape(5, 330000, 330000, 0, seed++);
  check_shape(2, 1100000, 1100003, 0, seed++);
  check_shape(3, 0, 0, 0, seed++);
  for (int m = 0; m < 16; ++m) check_shape(1, 50280, 50280, 0, seed++);  // rows = 1 in every mode

  std::printf("topk_check: %d cases, %d mismatches\n", g_cases, g_mismatches);
  if (g_mismatches) return 1;
  for (const int k : {1, 5, 40, 64}) time_k(256, 50280, k);
  return 0;
}
