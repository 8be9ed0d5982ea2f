// Top-k of logit rows on the device (see topk.cuh).
//
// Keys. Every entry becomes a 64-bit key whose unsigned order is the wanted
// order: the high word is the float's bits made order-preserving (sign bit
// set for positives, all bits flipped for negatives; -0 first becomes +0 so
// that it ties with +0), the low word is ~id (of equal values the lower id
// has the larger key). Keys of distinct entries are distinct, every non-NaN
// key is > 0, and 0 stands for "none" (NaN, past the end, an empty slot). The
// top-k of a row is its k largest keys.
//
// Stage 1, one block of 256 threads per 4096-entry segment of a row (grid
// segments x rows); each thread holds 16 entries in registers.
//   k = 1: the block max of the keys.
//   k > 1: tau = the k-th largest of the 256 per-thread maxima (each warp
//     sorts its 32 by shuffles; a maximum's rank is its lane plus a binary
//     search in each other warp's list). tau is <= the segment's k-th key (k
//     distinct keys are >= tau), and every key >= tau is held by one of the k
//     threads whose maximum is >= tau. So the keys >= tau, at most 16k and
//     for most data little more than k, are all the candidates: they are
//     gathered in shared memory and ranked (a candidate's slot is the number
//     of larger ones; a bitonic sort when there are more than 256); the
//     first k form the segment's sorted top-k list.
// Stage 2. k = 1: one warp per row takes the max of its segment keys.
//   k > 1: one block merges up to 16 sorted lists of a row into one: a key's
//   rank is its position in its own list plus the number of larger keys in
//   each other list (binary search), and a key of rank < k lands in slot
//   rank. Repeated until one list is left (one round for n <= 65536).
// The last kernel writes ids and values; values are re-read from the logits,
// so they are bit-exact (-0 stays -0). Atomics only decide the order in which
// candidates enter a sort of distinct keys: results are deterministic.
#include <stdexcept>
#include <string>
#include <utility>

#include "cuda/topk.cuh"

namespace seqc::cuda {

namespace {

using Key = unsigned long long;
static_assert(sizeof(Key) == 8);

constexpr int kThreads = 256;                // stage 1 block
constexpr int kItems = 16;                   // entries per thread in stage 1
constexpr int64_t kSeg = kThreads * kItems;  // entries per segment
constexpr int kMergeLists = 16;              // lists merged by one block
constexpr int kMergeThreads = 256;           // merge block
constexpr int kFinalWarps = 8;               // rows per block of the k = 1 final kernel
constexpr int64_t kGridRows = 65535;         // grid.y cap; kernels stride over rows
constexpr int64_t kMaxN = 2147483647;        // ids are int32

__device__ __forceinline__ Key make_key(float v, uint32_t id) {
  uint32_t b = __float_as_uint(v);
  if ((b & 0x7fffffffu) > 0x7f800000u) return 0;  // NaN
  if ((b & 0x7fffffffu) == 0) b = 0;              // -0 ties with +0
  b = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
  return (Key(b) << 32) | Key(~id);
}

// Writes slot (val, id) of a final result: key 0 is an empty slot.
__device__ __forceinline__ void emit(const float* row, Key key, float* val, int32_t* id) {
  if (key == 0) {
    *val = -INFINITY;
    *id = -1;
  } else {
    const uint32_t i = ~uint32_t(key);
    *val = row[i];
    *id = int32_t(i);
  }
}

__device__ __forceinline__ Key warp_max(Key x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const Key y = __shfl_xor_sync(0xffffffffu, x, o);
    x = y > x ? y : x;
  }
  return x;
}

// Offset within the segment of a thread's entry i. Vec: 4 float4 loads at
// 4 * (t + 256 q); else 16 scalar loads at t + 256 i. Both coalesce.
template <bool kVec>
__device__ __forceinline__ int item_offset(int i) {
  if constexpr (kVec)
    return 4 * (int(threadIdx.x) + kThreads * (i >> 2)) + (i & 3);
  else
    return int(threadIdx.x) + kThreads * i;
}

// The thread's 16 entries of the segment at `base` of `row` (NaN past n).
template <bool kVec>
__device__ __forceinline__ void load_items(const float* row, int64_t n, int64_t base, float (&v)[kItems]) {
  if (kVec && base + kSeg <= n) {
#pragma unroll
    for (int q = 0; q < kItems / 4; ++q) {
      const float4 x = __ldg(reinterpret_cast<const float4*>(row + base + item_offset<kVec>(4 * q)));
      v[4 * q] = x.x, v[4 * q + 1] = x.y, v[4 * q + 2] = x.z, v[4 * q + 3] = x.w;
    }
  } else {
#pragma unroll
    for (int i = 0; i < kItems; ++i) {
      const int64_t e = base + item_offset<kVec>(i);
      v[i] = e < n ? __ldg(row + e) : __uint_as_float(0x7fc00000u);
    }
  }
}

// The largest key of the thread's entries v (loaded by load_items at base).
template <bool kVec>
__device__ __forceinline__ Key thread_max(const float (&v)[kItems], int64_t base) {
  Key m = 0;
#pragma unroll
  for (int i = 0; i < kItems; ++i) {
    const Key key = make_key(v[i], uint32_t(base + item_offset<kVec>(i)));
    m = key > m ? key : m;
  }
  return m;
}

// Sorts v[0, p) descending; p a power of two >= 2, the same in all threads.
// Ends with __syncthreads(); the caller synchronises before it.
__device__ void bitonic_desc(Key* v, int p) {
  for (int size = 2; size <= p; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int i = int(threadIdx.x); i < p / 2; i += int(blockDim.x)) {
        const int lo = 2 * i - (i & (stride - 1)), hi = lo + stride;
        const Key a = v[lo], b = v[hi];
        if ((a < b) == ((lo & size) == 0)) {
          v[lo] = b;
          v[hi] = a;
        }
      }
      __syncthreads();
    }
  }
}

// k = 1, stage 1: out[r * nseg + s] = max key of segment s of row r, nseg =
// gridDim.x; with out == nullptr (one segment) the final vals/ids instead.
template <bool kVec>
__global__ void __launch_bounds__(kThreads, 4)
    seg_max_kernel(const float* __restrict__ logits, int64_t rows, int64_t n, int64_t ld,
                   Key* __restrict__ out, float* __restrict__ vals, int32_t* __restrict__ ids) {
  __shared__ Key wmax[kThreads / 32];
  const int lane = int(threadIdx.x) & 31, warp = int(threadIdx.x) >> 5;
  const int64_t base = int64_t(blockIdx.x) * kSeg;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const float* row = logits + r * ld;
    float v[kItems];
    load_items<kVec>(row, n, base, v);
    Key m = thread_max<kVec>(v, base);
    m = warp_max(m);
    if (lane == 0) wmax[warp] = m;
    __syncthreads();
    if (warp == 0) {
      m = warp_max(lane < kThreads / 32 ? wmax[lane] : 0);
      if (lane == 0) {
        if (out)
          out[r * gridDim.x + blockIdx.x] = m;
        else
          emit(row, m, vals + r, ids + r);
      }
    }
    __syncthreads();  // wmax is reused by the next row
  }
}

// k = 1, stage 2: one warp per row, the max of its nseg segment keys.
__global__ void __launch_bounds__(kFinalWarps * 32)
    max_final_kernel(const Key* __restrict__ keys, int64_t rows, int64_t nseg,
                     const float* __restrict__ logits, int64_t ld, float* __restrict__ vals,
                     int32_t* __restrict__ ids) {
  const int lane = int(threadIdx.x) & 31;
  for (int64_t r = int64_t(blockIdx.x) * kFinalWarps + (threadIdx.x >> 5); r < rows;
       r += int64_t(gridDim.x) * kFinalWarps) {
    Key m = 0;
    for (int64_t s = lane; s < nseg; s += 32) {
      const Key key = keys[r * nseg + s];
      m = key > m ? key : m;
    }
    m = warp_max(m);
    if (lane == 0) emit(logits + r * ld, m, vals + r, ids + r);
  }
}

// The number of keys > x in the descending list l[0, p), p a power of two.
__device__ __forceinline__ int count_greater(const Key* l, int p, Key x) {
  int pos = 0;
  for (int s = p >> 1; s > 0; s >>= 1)
    if (l[pos + s - 1] > x) pos += s;
  return pos + (l[pos] > x ? 1 : 0);
}

// x sorted across the warp, descending: lane i gets the i-th largest
// (bitonic network on shuffles).
__device__ __forceinline__ Key warp_sort_desc(Key x) {
  const int lane = int(threadIdx.x) & 31;
#pragma unroll
  for (int size = 2; size <= 32; size <<= 1) {
#pragma unroll
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      const Key y = __shfl_xor_sync(0xffffffffu, x, stride);
      // The lower lane of a pair keeps the max in a descending run (lane &
      // size == 0), the min in an ascending one; the upper lane the other.
      const bool keep_max = ((lane & stride) == 0) == ((lane & size) == 0);
      x = (y > x) == keep_max ? y : x;
    }
  }
  return x;
}

// k > 1, stage 1: out[(r * nseg + s) * k + j] = the j-th largest key of
// segment s of row r (0 past the last one), nseg = gridDim.x; with out ==
// nullptr (one segment) the final vals/ids instead.
template <bool kVec>
__global__ void __launch_bounds__(kThreads, 4)
    seg_topk_kernel(const float* __restrict__ logits, int64_t rows, int64_t n, int64_t ld, int k,
                    Key* __restrict__ out, float* __restrict__ vals, int32_t* __restrict__ ids) {
  constexpr int kWarps = kThreads / 32;
  __shared__ Key wmax[kWarps][32];         // each warp's thread maxima, sorted
  __shared__ Key cand[kItems * kTopkMax];  // candidates: the keys >= tau
  __shared__ Key top[kTopkMax];
  __shared__ Key tau_s;
  __shared__ int ncand;
  const int t = int(threadIdx.x), lane = t & 31, warp = t >> 5;
  const int64_t base = int64_t(blockIdx.x) * kSeg;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const float* row = logits + r * ld;
    float v[kItems];
    load_items<kVec>(row, n, base, v);
    const Key m = thread_max<kVec>(v, base);
    const Key sm = warp_sort_desc(m);
    wmax[warp][lane] = sm;
    if (t == 0) tau_s = 0, ncand = 0;
    if (t < k) top[t] = 0;
    __syncthreads();
    // tau = the k-th largest thread maximum: the one whose rank (its lane
    // plus the larger maxima of the other warps) is k - 1. None when fewer
    // than k threads hold a key: then tau = 0, every key is a candidate, and
    // they are fewer than 16k.
    if (sm != 0 && lane < k) {
      int rank = lane;
      for (int w = 0; w < kWarps && rank < k; ++w)
        if (w != warp) rank += count_greater(wmax[w], 32, sm);
      if (rank == k - 1) tau_s = sm;
    }
    __syncthreads();
    const Key tau = tau_s;
#pragma unroll
    for (int i = 0; i < kItems; ++i) {
      const Key key = make_key(v[i], uint32_t(base + item_offset<kVec>(i)));
      if (key != 0 && key >= tau) cand[atomicAdd(&ncand, 1)] = key;
    }
    __syncthreads();
    const int c = ncand;
    if (c <= kThreads) {
      // Usually: rank sort, a key's slot is the number of larger candidates.
      if (t < c) {
        const Key x = cand[t];
        int rank = 0;
#pragma unroll 4
        for (int j = 0; j < c; ++j) rank += cand[j] > x ? 1 : 0;
        if (rank < k) top[rank] = x;
      }
      __syncthreads();
    } else {
      // Many candidates (ties over many threads, adversarial orders): sort.
      int p = 2;
      while (p < c) p <<= 1;
      for (int i = c + t; i < p; i += kThreads) cand[i] = 0;
      __syncthreads();
      bitonic_desc(cand, p);
      if (t < k) top[t] = cand[t];
      __syncthreads();
    }
    if (t < k) {
      if (out)
        out[(r * gridDim.x + blockIdx.x) * k + t] = top[t];
      else
        emit(row, top[t], vals + r * k + t, ids + r * k + t);
    }
    __syncthreads();  // the shared arrays are reused by the next row
  }
}

// k > 1, stage 2: block g merges lists [16g, 16g + 16) of the nin sorted
// lists of k keys of row r (in[(r * nin + i) * k + j]) into out[(r * nout +
// g) * k + j], nout = gridDim.x; with out == nullptr (one list left) the
// final vals/ids instead.
__global__ void __launch_bounds__(kMergeThreads)
    merge_kernel(const Key* __restrict__ in, int64_t rows, int64_t nin, int k, Key* __restrict__ out,
                 const float* __restrict__ logits, int64_t ld, float* __restrict__ vals,
                 int32_t* __restrict__ ids) {
  __shared__ Key lists[kMergeLists][kTopkMax];  // rows padded with 0 to p
  __shared__ Key best[kTopkMax];
  const int t = int(threadIdx.x);
  const int64_t first = int64_t(blockIdx.x) * kMergeLists;
  const int nl = int(nin - first < kMergeLists ? nin - first : kMergeLists);
  int p = 1;
  while (p < k) p <<= 1;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const Key* src = in + (r * nin + first) * k;
    for (int i = t; i < nl * p; i += kMergeThreads) {
      const int l = i / p, j = i % p;
      lists[l][j] = j < k ? src[l * k + j] : 0;
    }
    for (int i = t; i < k; i += kMergeThreads) best[i] = 0;
    __syncthreads();
    for (int i = t; i < nl * k; i += kMergeThreads) {
      const int l = i / k, j = i % k;
      const Key x = lists[l][j];
      if (x == 0) continue;
      int rank = j;
      for (int o = 0; o < nl && rank < k; ++o)
        if (o != l) rank += count_greater(lists[o], p, x);
      if (rank < k) best[rank] = x;
    }
    __syncthreads();
    if (t < k) {
      if (out)
        out[(r * gridDim.x + blockIdx.x) * k + t] = best[t];
      else
        emit(logits + r * ld, best[t], vals + r * k + t, ids + r * k + t);
    }
    __syncthreads();  // lists and best are reused by the next row
  }
}

int64_t segments(int64_t n) { return n <= kSeg ? 1 : (n + kSeg - 1) / kSeg; }
int64_t merged(int64_t lists) { return (lists + kMergeLists - 1) / kMergeLists; }

void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("row_topk: ") + what + ": CUDA error " + std::to_string(int(e)) +
                             " (" + cudaGetErrorName(e) + ": " + cudaGetErrorString(e) + ")");
}

[[noreturn]] void bad_arg(const std::string& what) { throw std::runtime_error("row_topk: " + what); }

}  // namespace

size_t row_topk_scratch_bytes(int64_t rows, int64_t n, int k) {
  if (rows <= 0 || n < 0 || k < 1) return 0;
  const int64_t s = segments(n);
  if (s == 1) return 0;
  if (k == 1) return size_t(rows * s) * sizeof(Key);
  // Stage 1's lists, then the merge rounds' output ping-pongs between a
  // buffer of ceil(s / 16) lists and the first buffer.
  const int64_t s1 = merged(s);
  return size_t(rows * k * (s + (s1 > 1 ? s1 : 0))) * sizeof(Key);
}

void row_topk(cudaStream_t stream, const float* logits, int64_t rows, int64_t n, int64_t ld, int k,
              float* vals, int32_t* ids, void* scratch) {
  if (k < 1 || k > kTopkMax)
    bad_arg("k must be in [1, " + std::to_string(kTopkMax) + "], got " + std::to_string(k));
  if (rows < 0 || n < 0 || n > kMaxN)
    bad_arg("bad shape rows=" + std::to_string(rows) + " n=" + std::to_string(n));
  if (ld < n) bad_arg("ld=" + std::to_string(ld) + " < n=" + std::to_string(n));
  if (rows == 0) return;
  if ((n > 0 && logits == nullptr) || vals == nullptr || ids == nullptr) bad_arg("null pointer");
  const size_t need = row_topk_scratch_bytes(rows, n, k);
  if (need > 0 && scratch == nullptr) bad_arg("null scratch (" + std::to_string(need) + " bytes needed)");

  const int64_t s = segments(n);
  const unsigned gy = unsigned(rows < kGridRows ? rows : kGridRows);
  const dim3 grid1(unsigned(s), gy);
  // float4 loads need every row 16-byte aligned.
  const bool vec = reinterpret_cast<uintptr_t>(logits) % 16 == 0 && ld % 4 == 0;
  Key* a = static_cast<Key*>(scratch);

  if (k == 1) {
    Key* out = s == 1 ? nullptr : a;
    if (vec)
      seg_max_kernel<true><<<grid1, kThreads, 0, stream>>>(logits, rows, n, ld, out, vals, ids);
    else
      seg_max_kernel<false><<<grid1, kThreads, 0, stream>>>(logits, rows, n, ld, out, vals, ids);
    check_launch("segment max");
    if (s > 1) {
      const int64_t blocks = (rows + kFinalWarps - 1) / kFinalWarps;
      max_final_kernel<<<unsigned(blocks < 65535 ? blocks : 65535), kFinalWarps * 32, 0, stream>>>(
          a, rows, s, logits, ld, vals, ids);
      check_launch("row max");
    }
    return;
  }

  Key* out = s == 1 ? nullptr : a;
  if (vec)
    seg_topk_kernel<true><<<grid1, kThreads, 0, stream>>>(logits, rows, n, ld, k, out, vals, ids);
  else
    seg_topk_kernel<false><<<grid1, kThreads, 0, stream>>>(logits, rows, n, ld, k, out, vals, ids);
  check_launch("segment top-k");
  Key* cur = a;
  Key* next = s > 1 ? a + rows * k * s : nullptr;  // the second buffer (used when s > 16)
  for (int64_t nin = s; nin > 1;) {
    const int64_t nout = merged(nin);
    merge_kernel<<<dim3(unsigned(nout), gy), kMergeThreads, 0, stream>>>(
        cur, rows, nin, k, nout == 1 ? nullptr : next, logits, ld, vals, ids);
    check_launch("merge");
    std::swap(cur, next);
    nin = nout;
  }
}

}  // namespace seqc::cuda
