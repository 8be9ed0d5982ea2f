// What the core (compiled by g++) calls of the CUDA backend. Implemented in
// src/cuda/cuda_device.cu, or by src/cuda/cuda_stub.cpp (which fails with
// Code::unsupported) when the library is built without CUDA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "core/device.hpp"

namespace seqc::cuda {

// A CUDA device with its own stream and cuBLAS handle. Throws Code::no_device.
std::unique_ptr<Device> make_device(int index);

// Enqueued on the context's stream; pointers are device pointers except
// `host` ones.
void add(const Ctx& c, float* y, const float* x, int64_t n);  // y += x
void upload_async(const Ctx& c, void* dst, const void* host, size_t bytes);
// Copies to host memory and waits for the stream.
void download(const Ctx& c, void* host, const void* src, size_t bytes);
// Enqueues a copy to host memory (complete after the next download()).
void download_async(const Ctx& c, void* host, const void* src, size_t bytes);

// Device top-k of rows of floats (src/cuda/topk.cuh), for sampling: k <=
// kSelectMax; vals/ids and scratch are device memory.
inline constexpr int kSelectMax = 64;
size_t select_topk_scratch_bytes(int64_t rows, int64_t n, int k);
void select_topk(const Ctx& c, const float* x, int64_t rows, int64_t n, int k, float* vals, int32_t* ids,
                 void* scratch);

// Loading a model: make the runtime's device current for the weight uploads
// of the calling thread, then wait for them once the blocks exist.
void make_current(const Ctx& c);
void finish_load(const Ctx& c);

// Held while a call enqueues work: one runtime's stream and cuBLAS handle
// take one caller at a time (and nothing foreign enters a graph capture).
std::unique_lock<std::mutex> submit_lock(const Ctx& c);

// Whether steps run as captured CUDA graphs (default yes; SEQC_CUDA_GRAPHS=0
// turns them off, for comparison and debugging).
bool graphs_enabled() noexcept;

// The CUDA graphs captured in one workspace: one per step shape (key). A
// graph bakes in the workspace's addresses, so it belongs to the workspace.
struct StepGraphs;
struct StepGraphsDeleter {
  void operator()(StepGraphs* g) const noexcept;
};
using StepGraphCache = std::unique_ptr<StepGraphs, StepGraphsDeleter>;

// Runs body(arg) as the CUDA graph of `key`, captured on first use and
// replayed after, preceded (inside the graph, from pinned staging buffers) by
// the copies host `in` -> device `din` (in_bytes) and host `ptrs` -> device
// `dptrs` (ptr_bytes). `mark` is the workspace mark the body's allocations
// start from; a graph is only replayed from the same mark. Returns false
// when this key cannot be captured (the caller then runs eagerly). body must
// only enqueue work on c.stream (no synchronisation, no allocation).
bool run_graph(const Ctx& c, StepGraphCache& cache, uint64_t key, size_t mark, const void* in, void* din,
               size_t in_bytes, const void* ptrs, void* dptrs, size_t ptr_bytes, void (*body)(void*), void* arg);

}  // namespace seqc::cuda
