// Device-side top-k of logit rows: the candidates a sampler needs, found on
// the GPU so that only rows x k entries go to the host, not rows x vocab.
//
// Order: value descending, equal values by lower id first (the CPU sampler's
// order, core/sampler.cpp). NaN entries are never selected; +inf and -inf are
// ordinary values. A row with fewer than k non-NaN entries fills its
// remaining slots with id -1 and value -INFINITY. The result is
// deterministic. Errors (bad arguments, launch failures) throw
// std::runtime_error.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace seqc::cuda {

// Max k of row_topk.
constexpr int kTopkMax = 64;

// Device scratch bytes row_topk needs for (rows, n, k) (0 when it needs none;
// then scratch may be null).
size_t row_topk_scratch_bytes(int64_t rows, int64_t n, int k);

// vals[r*k + j], ids[r*k + j]: the j-th best entry of row r of logits
// (row r at logits + r*ld, n floats; n <= INT32_MAX, ld >= n, 1 <= k <=
// kTopkMax). All pointers are device pointers; scratch is device memory of
// row_topk_scratch_bytes() bytes, 8-byte aligned. Enqueued on `stream`, never
// synchronises, never allocates.
void row_topk(cudaStream_t stream, const float* logits, int64_t rows, int64_t n, int64_t ld, int k,
              float* vals, int32_t* ids, void* scratch);

}  // namespace seqc::cuda
